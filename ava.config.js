// Tests are compiled by `make build` and run from dist/.
export default {
  files: [process.env.TETCD_TESTS ?? 'dist/test/**/*.test.js'],
  timeout: '120s',
  concurrency: 2,
  workerThreads: false,
  verbose: false,
};
