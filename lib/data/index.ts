// Loaders for data files: IDX (MNIST and relatives), the MNIST layout, and numeric CSV.

export { DataFileError } from './errors.js';
export {
  loadIdx, loadIdxSync, parseIdx, encodeIdx, saveIdx,
  type IdxArray, type IdxData, type IdxType,
} from './idx.js';
export {
  loadMnist, mnistFiles, fashionMnistDir,
  FASHION_MNIST_CLASSES, FASHION_MNIST_SYSTEM_DIR, FASHION_MNIST_SAMPLE_DIR,
  type MnistData, type MnistFiles, type MnistOptions,
} from './mnist.js';
export {
  loadCsv, loadCsvSync, parseCsv, type CsvData, type CsvOptions, type LabeledCsvData, type CsvFeature, type MissingPolicy,
} from './csv.js';
