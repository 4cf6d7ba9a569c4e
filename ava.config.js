// Tests are compiled by `make build` and run from dist/.
// Cluster tests (dist/test/cluster) run in a second, serial pass (see the Makefile).
export default {
  files: process.env.TETCD_TESTS ? [process.env.TETCD_TESTS] : ['dist/test/**/*.test.js', '!dist/test/cluster/**'],
  timeout: '120s',
  concurrency: 2,
  workerThreads: false,
  verbose: false,
};
