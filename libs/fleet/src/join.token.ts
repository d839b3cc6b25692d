/**
 * A join token: `keyd1.<secret>.<CA fingerprint>`. The secret (256 random
 * bits, base64url) proves the node; the fingerprint (SHA-256 of the control
 * plane's CA certificate, hex) lets the agent check whom it talks to before
 * it sends the secret, as kubeadm's discovery hash does.
 */
export interface JoinToken {
  secret: string;
  caFingerprint: string;
}

const FORMAT = /^keyd1\.([A-Za-z0-9_-]{43})\.([0-9a-f]{64})$/;

export const formatJoinToken = (t: JoinToken): string => `keyd1.${t.secret}.${t.caFingerprint}`;

export function parseJoinToken(text: string): JoinToken | null {
  const m = FORMAT.exec(text.trim());
  return m ? { secret: m[1], caFingerprint: m[2] } : null;
}
