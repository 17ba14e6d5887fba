// Launcher refusals: one clear sentence each, printed as "domxml: error: …" before QEMU starts.
export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchError';
  }
}

export function refuse(message: string): never {
  throw new LaunchError(message);
}
