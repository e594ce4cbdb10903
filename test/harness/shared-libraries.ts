/** What `ldd` says an executable needs, for images made from the machine's own binaries. */
import { run } from './proc.js';

/** The shared libraries an executable loads (absolute paths, the loader included). */
export async function sharedLibraries(executable: string): Promise<string[]> {
  const { stdout } = await run('ldd', [executable]);
  const paths = new Set<string>();
  for (const line of stdout.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match) paths.add(match[1]!);
  }
  return [...paths];
}
