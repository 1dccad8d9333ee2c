/**
 * The bytes are not an image the model runtime can decode; callers report it as a client error of the model. In a
 * module of its own so code that only relays the error (the stand-in, the worker pool, the model server's client)
 * does not load TensorFlow.js by importing it.
 */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
}
