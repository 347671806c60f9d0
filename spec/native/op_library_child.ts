// The op library loaded from a given build directory in a plain node child (node_child.ts): a
// process loads one library for good, and a loader that blocks on a FIFO must hang a child, not jest.
import { TurboOpLibrary, loadTurboOpLibrary } from '../../src/native/op_library';
import { LoadOutcome, loadAndRun } from '../savedmodel/load_child';

export async function loadOpLibraryFrom(buildDir: string, savedModelDir?: string): Promise<{ library: TurboOpLibrary; savedModel?: LoadOutcome }> {
  process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  const library = loadTurboOpLibrary(buildDir);
  return { library, savedModel: savedModelDir ? await loadAndRun(savedModelDir) : undefined };
}
