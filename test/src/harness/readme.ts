/**
 * The code blocks of a Markdown page, as the README tests run them (readme.test.ts runs every block,
 * first-hour.test.ts walks a newcomer's path through some of them).
 *
 * A block that cannot run in the README test says why in a visible marker on the line before it,
 * `<!-- not run: needs docker -->`. A fence without a language (the layout tree) is text, not code.
 */

export interface ReadmeBlock {
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The nearest heading above the block, without its `#`s. */
  section: string;
  /** From `<!-- not run: REASON -->` on the line before the fence. */
  notRun?: string;
}

export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6}\s+(.*?)\s*$/.exec(lines[i]!);
    if (heading !== null) section = heading[1]!;
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const close = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (close < 0) throw new Error(`README.md:${i + 1}: unclosed code block`);
    const before = lines.slice(0, i).reverse().find((l) => l.trim() !== '') ?? '';
    const marker = /^<!--\s*not run:\s*(.+?)\s*-->$/.exec(before.trim());
    blocks.push({
      lang: open[1] ?? '',
      text: lines.slice(i + 1, close).join('\n') + '\n',
      line: i + 1,
      section,
      ...(marker === null ? {} : { notRun: marker[1] }),
    });
    i = close;
  }
  return blocks;
}

/** The one block of `section` whose text contains `containing`; throws naming what is missing. */
export function readmeBlock(blocks: ReadmeBlock[], section: string, containing: string): ReadmeBlock {
  const found = blocks.filter((b) => b.section === section && b.text.includes(containing));
  if (found.length !== 1) throw new Error(`README.md: ${found.length} code blocks under "${section}" contain ${JSON.stringify(containing)} (expected 1)`);
  return found[0]!;
}
