// The live region below the scroll-back: one line (the prompt, a spinner, a
// question or a history search), so a terminal resize only redraws that line;
// or, while paging a long text, a screen of it and a status line.

import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
import { escapeControls } from '../../core/escape.js';
import type { LineState } from './editor.js';
import { statusLine, visibleRows, type Pager } from './paging.js';
import type { ConsoleState } from './state.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function LiveLine({ state }: { state: ConsoleState }) {
  const { mode, line, answer, prompt } = state;
  switch (mode.kind) {
    case 'running':
      return <Progress text={mode.progress} />;
    case 'question': {
      const { text, yesNo, secret } = mode.question;
      return (
        <Text>
          <Text bold>{escapeControls(text)}</Text>
          {yesNo ? ' [y/N]' : ''}: <Cursor state={secret ? { text: '*'.repeat(answer.text.length), cursor: answer.cursor } : answer} />
        </Text>
      );
    }
    case 'search':
      return (
        <Text>
          (reverse-i-search)'{escapeControls(mode.query)}': {escapeControls(mode.match?.line ?? '')}
        </Text>
      );
    case 'page':
      return <PageView pager={mode.pager} />;
    case 'edit':
      return (
        <Text>
          <Text color="green">{prompt}</Text>
          <Cursor state={line} />
        </Text>
      );
  }
}

/** A screen of a long text; each row is cut to one line so the region never outgrows the screen. */
function PageView({ pager }: { pager: Pager }) {
  const rows = visibleRows(pager);
  return (
    <Box flexDirection="column">
      {rows.map((row, i) => (
        <Text key={i} wrap="truncate-end">
          {row.text || ' '}
        </Text>
      ))}
      <Text inverse wrap="truncate-end">
        {escapeControls(statusLine(pager))}
      </Text>
    </Box>
  );
}

/** A spinner and the running command's last progress line. */
function Progress({ text }: { text: string }) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setFrame((f) => f + 1), 80);
    return () => clearInterval(timer);
  }, []);
  return (
    <Text color="cyan">
      {SPINNER[frame % SPINNER.length]} {escapeControls(text) || 'working'} <Text dimColor>(Ctrl-C cancels)</Text>
    </Text>
  );
}

/** The line with the cursor drawn as an inverse cell. */
function Cursor({ state }: { state: LineState }) {
  const under = state.text[state.cursor] ?? ' ';
  return (
    <Text>
      {state.text.slice(0, state.cursor)}
      <Text inverse>{under}</Text>
      {state.text.slice(state.cursor + 1)}
    </Text>
  );
}
