import cliProgress from 'cli-progress';
import type { DownloadProgress, RepoFile } from '@kava/core/app';

/** Bytes as people read them: 1.2 kB, 4.7 GB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * The progress of a download from the hub, on stderr (stdout stays the command's own output): a
 * bar with bytes, speed and ETA on a terminal; without one (CI, a pipe) a line per file fetched
 * and one at every tenth of the bytes.
 */
export function downloadProgress(label: string, out: NodeJS.WriteStream = process.stderr): DownloadProgress {
  const tty = Boolean(out.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  let total = 0;
  let done = 0;
  let printed = 0;
  let started = Date.now();
  return {
    start(files: readonly RepoFile[], bytes: number) {
      total = bytes;
      started = Date.now();
      const size = files.reduce((s, f) => s + f.size, 0);
      out.write(
        `${label}: ${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(size)}${bytes === 0 ? ', all in the cache' : bytes < size ? `, ${formatBytes(bytes)} still to fetch` : ''}\n`,
      );
      if (tty && bytes > 0) {
        bar = new cliProgress.SingleBar(
          {
            format: 'downloading [{bar}] {done} / {size}  {speed}  eta {eta_formatted}  {file}',
            barsize: 20,
            hideCursor: true,
            etaBuffer: 50,
            clearOnComplete: true,
            stream: out,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(bytes, 0, { done: formatBytes(0), size: formatBytes(bytes), speed: '', file: '' });
      }
    },
    bytes(count: number, file: RepoFile) {
      done += count;
      if (bar) {
        const seconds = (Date.now() - started) / 1000;
        bar.update(done, {
          done: formatBytes(done),
          speed: seconds > 0 ? `${formatBytes(done / seconds)}/s` : '',
          file: file.path,
        });
      } else if (total > 0 && done - printed >= total / 10) {
        printed = done;
        out.write(`downloading ${formatBytes(done)} / ${formatBytes(total)} (${Math.round((100 * done) / total)} %)\n`);
      }
    },
    done(file: RepoFile, wasFetched: boolean) {
      if (!wasFetched) return;
      if (!tty) out.write(`fetched ${file.path} (${formatBytes(file.size)})\n`);
      if (bar && done >= total) {
        bar.stop();
        bar = null;
      }
    },
  };
}
