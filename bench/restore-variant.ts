/** Child process of the restore scenario: runs one variant and sends its result to the parent. */
import { runVariant, type RestoreOptions, type RestoreVariant } from './restore.ts';

const [variant, options] = process.argv.slice(2);
const result = await runVariant(variant as RestoreVariant, JSON.parse(options ?? '{}') as RestoreOptions);
if (process.send === undefined) process.stdout.write(`${JSON.stringify(result)}\n`);
// Exit once the message is out: the app's clients may leave handles open.
else process.send(result, () => process.exit(0));
