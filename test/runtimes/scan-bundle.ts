/**
 * Finds the constructs an edge runtime refuses, in the JavaScript of a bundle, by walking its
 * syntax tree (TypeScript's parser) rather than searching text: a method named `require`
 * or a comment mentioning WebAssembly is not a finding; a call `require(...)` is.
 *
 *   eval(...)                      Cloudflare Workers and strict CSPs forbid code from strings
 *   new Function(...) / Function() the same
 *   WebAssembly                    runtime compilation; the default bundle has no WebAssembly
 *   require(...)                   CommonJS: not in browsers, Deno or Workers
 *   "node:..." / Node built-in     an import of a module that only Node (or its shims) has
 *   SharedArrayBuffer              allowed only behind a `typeof SharedArrayBuffer` guard, so the
 *                                  bundle loads where cross-origin isolation is off
 */

import { builtinModules } from 'node:module';
import ts from 'typescript';

export interface Finding {
  rule: 'eval' | 'Function' | 'WebAssembly' | 'require' | 'node-import' | 'SharedArrayBuffer';
  line: number;
  text: string;
}

const BUILTINS = new Set(builtinModules);

function isNodeSpecifier(text: string): boolean {
  return text.startsWith('node:') || BUILTINS.has(text) || BUILTINS.has(text.split('/')[0]!);
}

export function scanBundle(code: string, fileName = 'bundle.js'): Finding[] {
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const findings: Finding[] = [];
  const report = (rule: Finding['rule'], node: ts.Node): void => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    findings.push({ rule, line: line + 1, text: node.getText(source).slice(0, 80) });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const callee = node.expression;
      if (ts.isIdentifier(callee)) {
        if (callee.text === 'eval') report('eval', node);
        if (callee.text === 'Function') report('Function', node);
        if (callee.text === 'require') report('require', node);
      }
      // import("node:fs") and require("fs")
      const first = node.arguments?.[0];
      const isImportCall = ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if ((isImportCall || isRequire) && first !== undefined && ts.isStringLiteralLike(first) && isNodeSpecifier(first.text)) {
        report('node-import', node);
      }
    }
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (isNodeSpecifier(node.moduleSpecifier.text)) report('node-import', node);
    }
    if (ts.isIdentifier(node) && isReference(node)) {
      if (node.text === 'WebAssembly') report('WebAssembly', node);
      if (node.text === 'SharedArrayBuffer' && !isGuarded(node, source)) report('SharedArrayBuffer', node.parent);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return findings;
}

/** An identifier used as a value (not a property name, a declaration name or a label). */
function isReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent)) && parent.name === node) return false;
  if ((ts.isGetAccessor(parent) || ts.isSetAccessor(parent)) && parent.name === node) return false;
  return true;
}

/**
 * `typeof SharedArrayBuffer`, or a use on the right of `typeof SharedArrayBuffer !== "undefined" && ...`
 * (in any of the spellings a minifier produces, e.g. `typeof SharedArrayBuffer<"u"&&`).
 */
function isGuarded(node: ts.Identifier, source: ts.SourceFile): boolean {
  if (ts.isTypeOfExpression(node.parent)) return true;
  let child: ts.Node = node;
  for (let ancestor = node.parent; ancestor !== undefined; child = ancestor, ancestor = ancestor.parent) {
    if (
      ts.isBinaryExpression(ancestor) &&
      ancestor.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken &&
      ancestor.right === child &&
      /typeof\s+SharedArrayBuffer/.test(ancestor.left.getText(source))
    ) {
      return true;
    }
    if (ts.isFunctionLike(ancestor)) return false;
  }
  return false;
}
