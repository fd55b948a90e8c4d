/** `mobilenet worker`: a cluster worker; the code lives in lib/apps/cluster. */
export { registerWorker as register } from '../../cluster/cli';
