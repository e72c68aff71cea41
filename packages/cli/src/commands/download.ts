import type { Command } from 'commander';
import {
  ConfigError,
  datasetFileOfId,
  downloadSnapshot,
  fetchModelDir,
  hubCachePath,
  isHubDataset,
  parseModelId,
} from '@kava/core/app';
import { downloadProgress } from '../download-progress.js';

interface DownloadFlags {
  split?: string;
  all?: boolean;
}

/**
 * `kava download ID`: fetches a model (org/name[@revision]) or a dataset split
 * (hf:org/name[@revision][:split]) into the Hugging Face cache, where PyTorch finds it too, and
 * prints where it lies. What train, eval and infer would fetch on first use, fetched ahead (for a
 * machine that goes offline, or a cluster node without network).
 */
export function downloadCommand(program: Command): void {
  program
    .command('download')
    .description(
      'fetch a model (org/name[@revision]) or a dataset (hf:org/name[@revision][:split]) from the Hugging Face hub into its cache',
    )
    .argument('<id>', 'model id, e.g. meta-llama/Llama-3.2-1B-Instruct, or dataset id, e.g. hf:openai/gsm8k:main/test')
    .option('--all', 'a model: every file of the repository, not only the config, safetensors and tokenizer files')
    .action(async (id: string, flags: DownloadFlags) => {
      const cache = await hubCachePath();
      if (isHubDataset(id)) {
        if (flags.all) throw new ConfigError('kava download --all: applies to models; a dataset is fetched by split');
        const file = await datasetFileOfId(id, {
          field: 'kava download',
          defaultSplit: 'train',
          progress: downloadProgress(id),
          refresh: true,
        });
        process.stdout.write(`${file}\n`);
        return;
      }
      const model = parseModelId(id);
      if (model === null)
        throw new ConfigError(
          `kava download: "${id}" is neither a model id (org/name[@revision]) nor a dataset id (hf:org/name[@revision][:split])`,
        );
      const progress = downloadProgress(id);
      const dir = flags.all
        ? (await downloadSnapshot({ type: 'model', name: model.repo, revision: model.revision }, { cache, progress }))
            .dir
        : await fetchModelDir(id, { field: 'kava download', progress, refresh: true });
      process.stdout.write(`${dir}\n`);
    });
}
