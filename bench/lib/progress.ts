import cliProgress from 'cli-progress';

/** Progress bars on stderr, when it is a terminal: the whole run, and the cell being measured. */
export class Progress {
  private readonly bars: cliProgress.MultiBar | undefined;
  private readonly overall: cliProgress.SingleBar | undefined;
  private readonly cell: cliProgress.SingleBar | undefined;
  private done = 0;

  /** `unit` names what the overall bar counts (cells of a grid, phases of a scenario). */
  constructor(
    private readonly cells: number,
    unit = 'cells',
  ) {
    // cli-progress still writes its bars to a pipe now and then, unfilled: a log gets nothing instead.
    if (!process.stderr.isTTY) return;
    this.bars = new cliProgress.MultiBar(
      { stream: process.stderr, format: '{label} {bar} {percentage}% | {detail}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    this.overall = this.bars.create(cells, 0, { label: label(unit), detail: `0/${cells}` });
    this.cell = this.bars.create(100, 0, { label: label(''), detail: '' });
  }

  /** Shows the cell now measured; returns its update function (share done 0..1, attempts so far). */
  startCell(name: string, noun = 'attempts'): (share: number, attempts: number) => void {
    const bar = this.cell;
    bar?.update(0, { label: label(name), detail: `0 ${noun}` });
    return (share, attempts) => bar?.update(Math.floor(share * 100), { detail: `${attempts} ${noun}` });
  }

  /** A line above the bars (or on stderr when there are none). */
  log(message: string): void {
    if (this.bars) this.bars.log(`${message}\n`);
    else console.error(message);
  }

  finishCell(): void {
    this.done++;
    this.overall?.update(this.done, { detail: `${this.done}/${this.cells}` });
  }

  stop(): void {
    this.bars?.stop();
  }
}

function label(text: string): string {
  return text.padEnd(34);
}
