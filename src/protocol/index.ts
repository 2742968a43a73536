// Public surface of the MQTT wire codec.

export * from './packets.js';
export * from './properties.js';
export * from './reason-codes.js';
export * from './errors.js';
export { checkUtf8Bytes, checkUtf8String, decodeUtf8, MAX_STRING_BYTES } from './utf8.js';
export { validateTopicName, validateTopicFilter, parseSharedFilter, hasWildcard, checkFilterSyntax } from './topic.js';
export { PacketDecoder, MAX_REMAINING_LENGTH, type DecoderSink } from './decoder.js';
export { encodePacket } from './encoder.js';
export { PublishFrame, type ByteSink, type PublishExtra } from './publish-frame.js';
