// Models and datasets named by Hugging Face id: the cache PyTorch work fills, and downloads into it.
export {
  cachedModelDir,
  cachedSnapshot,
  downloadCommand,
  fetchModelDir,
  hubCachePath,
  isModelFile,
  listCachedModels,
  modelDirOfId,
  parseModelId,
  type CachedModel,
  type ModelFetchOptions,
  type ModelId,
} from './cache.js';
export {
  HF_PREFIX,
  datasetFileOfId,
  isHubDataset,
  kavaCachePath,
  listCachedDatasets,
  parseDatasetSpec,
  splitFiles,
  type DatasetFetchOptions,
  type DatasetSpec,
  type CachedDataset,
} from './dataset.js';
export {
  downloadSnapshot,
  repoFolder,
  repoLabel,
  type DownloadOptions,
  type DownloadProgress,
  type HubRepo,
  type RepoFile,
  type RepoType,
  type Snapshot,
} from './download.js';
export { hfHome, hubSettings, type HubSettings } from './settings.js';
