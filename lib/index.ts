/** mobilenet-native: MobileNet v1 for Node.js on a oneDNN engine. The only import users need. */
export * from './core/public';
