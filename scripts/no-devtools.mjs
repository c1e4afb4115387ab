// Stands in for react-devtools-core in the live bundle (scripts/bundle.mjs): Ink loads it only when
// DEV=true, to connect to React DevTools, which this program does not use.
export default {initialize() {}, connectToDevTools() {}};
