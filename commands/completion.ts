// `completion bash`: a bash completion script for `platform`. It holds no
// copy of the commands: bash asks `platform --complete WORDS...` for the
// candidates, and that answers from the same tree (and the same rights) as
// Tab in the console. Install: platform completion bash > /etc/bash_completion.d/platform

import { json } from '../core/json-shape.js';
import { reply } from '../core/reply.js';
import { defineCommand, type Group } from '../core/command.js';

export const BASH_COMPLETION = `# bash completion for platform (from "platform completion bash")
_platform() {
  local IFS=$'\\n'
  # The words after the program up to the cursor; the last is the one being completed.
  COMPREPLY=($("\${COMP_WORDS[0]}" --complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -F _platform platform
`;

export const completionGroup: Group = {
  word: 'completion',
  summary: 'shell completion scripts',
  commands: [
    defineCommand({
      words: ['completion', 'bash'],
      summary: 'Print a bash completion script (install: platform completion bash > /etc/bash_completion.d/platform)',
      json: json.object({ shell: json.oneOf('bash'), script: json.string() }),
      run: () => reply.text(BASH_COMPLETION.trimEnd(), { shell: 'bash', script: BASH_COMPLETION }),
    }),
  ],
};
