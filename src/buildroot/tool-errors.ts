/**
 * The package manager's (or rpm's) own error lines, for isomock's one-line
 * message when it fails: Mock shows the package manager's output on the
 * console; isomock quotes what says why (a missing package, a signature
 * dnf or rpm refused) and points at root.log for the rest. Pure: lines in,
 * one printable string out (control characters from package data dropped).
 */
const errorLine =
  /^(error|Error|Problem|Transaction failed|GPG|Public key|Package .* is not signed)|signature|Signature|NOKEY|NOTTRUSTED|BAD|FAILED|failed|cannot|not signed|does not verify|No match for argument|nothing provides/;

/** Keeps the last lines a tool printed; `quote()` gives its error lines, at most `max`, joined. */
export class ToolErrors {
  private readonly lines: string[] = [];

  constructor(private readonly keep = 200) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.keep) this.lines.shift();
  }

  quote(max = 3): string {
    const picked = [
      ...new Set(
        this.lines.map((l) =>
          l
            // eslint-disable-next-line no-control-regex -- ESC starts the colour codes dnf5 prints
            .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') // terminal colours
            .replace(/[^\x20-\x7e]+/g, ' ')
            .trim(),
        ),
      ),
    ].filter((l) => l && errorLine.test(l));
    return picked
      .slice(-max)
      .map((l) => (l.length > 240 ? `${l.slice(0, 240)}...` : l))
      .join(' / ');
  }
}
