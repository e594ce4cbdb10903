export { loadInventoryFile, locationToBaseUrl, parseInventoryText } from './inventory.js';
export { checkJobAgainstInventory, type LoadedJob, loadJobFile, parseJobText } from './job.js';
export { MAX_FILE_BYTES, readUserFile } from './read-file.js';
