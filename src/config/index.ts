export { loadInventoryFile, locationToBaseUrl, parseInventoryText } from './inventory.js';
export { checkJobAgainstInventory, type LoadedJob, loadJobFile, parseJob, parseJobText } from './job.js';
export { MAX_FILE_BYTES, readUserFile } from './read-file.js';
export {
  CredentialsError,
  credentialsOfRun,
  RegistryCredentials,
} from './registry-credentials.js';
