// ink-testing-library's render, loaded once the variables Ink goes by for CI are cleared: Ink decides
// whether it runs in CI when it loads, and then draws nothing until the end, so under CI the tests of
// the live screens would test nothing. Import this before any module that loads Ink.
for (const key of Object.keys(process.env).filter(key => key === 'CI' || key === 'CONTINUOUS_INTEGRATION' || key.startsWith('CI_'))) {
	delete process.env[key];
}

export const render: typeof import('ink-testing-library').render = (await import('ink-testing-library')).render;
