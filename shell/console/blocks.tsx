// A command's reply on the console: one Ink component per kind of block.
// Lines are laid out by the plain-text renderer's own functions (core/text.ts),
// so the console and `ssh platform@host <command>` show the same text; here
// each line is its own element and can be drawn in its own colour.

import { Box, Text } from 'ink';
import type { Block, Json } from '../../core/reply.js';
import { escapeControls } from '../../core/escape.js';
import { renderTree, tableLines, usageLines } from '../../core/text.js';

/** Lines, one element each; an empty line keeps its height. */
function Lines({ lines }: { lines: readonly string[] }) {
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i}>{line || ' '}</Text>
      ))}
    </Box>
  );
}

/** Free text as is (control characters escaped). */
export function TextBlock({ text }: { text: string }) {
  return <Text>{escapeControls(text, { lines: true })}</Text>;
}

export function WarningBlock({ text }: { text: string }) {
  return (
    <Text color="yellow" bold>
      {escapeControls(text, { lines: true })}
    </Text>
  );
}

/** Columns aligned under a header and a dashed rule. */
export function TableBlock({ columns, rows }: { columns: string[]; rows: string[][] }) {
  const [header = '', rule = '', ...body] = tableLines(columns, rows);
  return (
    <Box flexDirection="column">
      <Text>{header}</Text>
      <Text>{rule}</Text>
      <Lines lines={body} />
    </Box>
  );
}

/** A YAML-ish tree: `key: value`, nested maps indented. */
export function TreeBlock({ value }: { value: { [key: string]: Json } }) {
  return <Lines lines={renderTree(value, 0)} />;
}

/** `USAGE:` and `syntax - description`, descriptions wrapped to the terminal's width. */
export function UsageBlock({ entries, width }: { entries: [string, string][]; width: number }) {
  return <Lines lines={usageLines(entries, width)} />;
}

/** A long text (a log) short enough for the screen; a longer one goes to the console's pager (paging.ts) instead. */
export function PageBlock({ text }: { text: string }) {
  return <TextBlock text={text} />;
}

export function BlockView({ block, width }: { block: Block; width: number }) {
  switch (block.kind) {
    case 'text':
      return <TextBlock text={block.text} />;
    case 'warning':
      return <WarningBlock text={block.text} />;
    case 'table':
      return <TableBlock columns={block.columns} rows={block.rows} />;
    case 'tree':
      return <TreeBlock value={block.value} />;
    case 'usage':
      return <UsageBlock entries={block.entries} width={width} />;
    case 'page':
      return <PageBlock text={block.text} />;
  }
}

export function BlocksView({ blocks, width }: { blocks: readonly Block[]; width: number }) {
  return (
    <Box flexDirection="column">
      {blocks.map((block, i) => (
        <BlockView key={i} block={block} width={width} />
      ))}
    </Box>
  );
}
