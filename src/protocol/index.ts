// Public surface of the MQTT wire codec.

export { type DecoderSink, MAX_REMAINING_LENGTH, PacketDecoder } from './decoder.js';
export { encodePacket } from './encoder.js';
export * from './errors.js';
export * from './packets.js';
export * from './properties.js';
export { type ByteSink, type PublishExtra, PublishFrame } from './publish-frame.js';
export * from './reason-codes.js';
export {
  checkFilterSyntax,
  hasWildcard,
  parseSharedFilter,
  validateTopicFilter,
  validateTopicName,
} from './topic.js';
export { checkUtf8Bytes, checkUtf8String, decodeUtf8, MAX_STRING_BYTES } from './utf8.js';
