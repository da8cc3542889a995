/** Standard input and output for the commands: read stdin once, write without failing on a reader that went away. */

/** Input the command cannot use: unreadable, unparseable, a bad policy or an unreachable cluster. Exit status 2, message on stderr. */
export class InputProblem extends Error {}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes all of `text`; a reader that went away (`inject … | head`) is not an error. */
export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null): void => {
      stream.off('error', done);
      if (error && (error as NodeJS.ErrnoException).code !== 'EPIPE') reject(error);
      else resolve();
    };
    stream.once('error', done);
    stream.write(text, done);
  });
}
