/**
 * Reads a scenario's settings from the environment, collecting every problem
 * so that one error names them all (`check`) rather than the first alone.
 */
export function settingsReader(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  return {
    problems,
    /** `env[name]` or `fallback`, which must be a URL with one of `schemes` (`postgresql:`, …). */
    url(name: string, fallback: string, schemes: string[]): string {
      const value = env[name] || fallback;
      try {
        if (!schemes.includes(new URL(value).protocol)) problems.push(`${name}: must be a ${schemes.join(' or ')} URL`);
      } catch {
        problems.push(`${name}: must be a URL`);
      }
      return value;
    },
    /** `env[name]` or `fallback`, which must be `host:port[,host:port…]`. */
    hostPorts(name: string, fallback: string): string {
      const value = env[name] || fallback;
      if (!/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/.test(value)) problems.push(`${name}: must be host:port[,host:port…]`);
      return value;
    },
    /** `1` on, unset, empty or `0` off. */
    flag(name: string): boolean {
      const value = env[name];
      if (value === undefined || value === '' || value === '0') return false;
      if (value !== '1') problems.push(`${name}: must be 1 or 0`);
      return true;
    },
    /** @throws naming every problem found, under `scenario` */
    check(scenario: string): void {
      if (problems.length > 0) throw new Error(`${scenario} scenario settings:\n  ${problems.join('\n  ')}`);
    },
  };
}
