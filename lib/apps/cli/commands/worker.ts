/** `mobilenet worker`: a cluster worker; the code lives in lib/cluster. */
export { registerWorker as register } from '../../cluster/cli';
