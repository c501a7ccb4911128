// No promise is dropped on the floor: a statement that calls something
// returning a promise awaits it, returns it, or handles both outcomes
// (`.then(ok, failed)` or `.catch(...)`), or says it means to drop it
// (`void`). A dropped promise once let `backup restore` answer before nginx
// had the restored configuration, and its failure would go unseen.
// TypeScript's own type checker finds them (it has no such rule itself).

import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { join, relative } from 'node:path';
import { ROOT } from '../support/daemon.js';

/** A call whose both outcomes are handled by the call itself (a `.finally` after a chain that handles them, too). */
function handlesOutcomes(call: ts.CallExpression): boolean {
  if (!ts.isPropertyAccessExpression(call.expression)) return false;
  const method = call.expression.name.text;
  if (method === 'finally') return ts.isCallExpression(call.expression.expression) && handlesOutcomes(call.expression.expression);
  return method === 'catch' || (method === 'then' && call.arguments.length === 2);
}

function floatingPromises(): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!config) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram(config.fileNames, config.options);
  const checker = program.getTypeChecker();
  const found: string[] = [];
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || file.fileName.includes('/node_modules/')) continue;
    const visit = (node: ts.Node) => {
      if (ts.isExpressionStatement(node) && ts.isCallExpression(node.expression) && !handlesOutcomes(node.expression)) {
        if (checker.getTypeAtLocation(node.expression).getSymbol()?.getName() === 'Promise') {
          const { line } = file.getLineAndCharacterOfPosition(node.getStart());
          found.push(`${relative(ROOT, file.fileName)}:${line + 1}: ${node.getText().split('\n')[0]}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return found;
}

describe('promises', () => {
  it('are never dropped: each is awaited, returned, handled both ways, or voided on purpose', () => {
    expect(floatingPromises()).toEqual([]);
  }, 120_000);
});
