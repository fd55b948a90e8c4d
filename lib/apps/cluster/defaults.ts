/** Names the cluster's CLI needs before it loads the queue libraries. */
export const DEFAULT_QUEUE_NAME = 'mobilenet';
