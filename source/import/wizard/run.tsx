// The wizard, imported only when there is a terminal to ask in. It draws on stderr, so stdout keeps
// the plain plan.
import {render} from 'ink';
import type {ImportPlan} from '../plan.js';
import {Wizard, type WizardProps} from './Wizard.js';

/** The confirmed plan, or undefined when the operator left with Ctrl-C. */
export async function runWizard(props: Omit<WizardProps, 'onDone' | 'onCancel'>): Promise<ImportPlan | undefined> {
	let result: ImportPlan | undefined;
	const app = render(
		<Wizard
			{...props}
			onDone={plan => {
				result = plan;
				app.unmount();
			}}
			onCancel={() => {
				app.unmount();
			}}
		/>,
		{stdout: process.stderr, stdin: process.stdin, exitOnCtrlC: false, patchConsole: false},
	);
	await app.waitUntilExit();
	return result;
}
