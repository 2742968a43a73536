// The start-up error of a TLS listener whose key, certificate, CA or CRL material cannot be used.

export class TlsSetupError extends Error {
  constructor(
    /** The file at fault (or the pair, for a certificate that does not match its key). */
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'TlsSetupError';
  }
}
