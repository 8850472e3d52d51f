/**
 * Which AWS SDK calls a handler's code can make, and on what: read from the source with
 * the TypeScript compiler, starting at the handler's exported `handler` and following only
 * code that is reached from it.
 *
 * - Reachability is per function, not per file: a helper in a bundled module that no
 *   reached function calls or refers to contributes nothing (esbuild keeps whole modules'
 *   worth of commands in the bundle; that over-counts).
 * - Each call's resource fields (TableName, Bucket/Key, TopicArn, stateMachineArn,
 *   FunctionName, …) are evaluated symbolically through constants, environment readers,
 *   object literals, template strings and the arguments of the call chain that reached
 *   them (context-sensitive), so `batchGetAll(ddb(), tables.commands(), …)` is a
 *   BatchGetItem on the table named by COMMANDS_TABLE.
 * - A branch guarded by an option the caller demonstrably did not pass (`if (options.x)`
 *   where the caller's object literal has no `x`) is not followed: that is how a shared
 *   finalizer that reads result files only when given a manifest does not make every
 *   caller a reader of result files.
 * - What cannot be evaluated (a key read from a DynamoDB row, an ARN from an event) stays
 *   `unknown`, with the reason; the IAM suite then requires an explicit, commented entry.
 *
 * Functions that external code calls (overrides of a library class, callbacks handed to a
 * library) are treated as reached when their class is instantiated or the callback is
 * created in reached code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export type Sym =
  | { k: 'lit'; v: string | number | boolean | null }
  | { k: 'undef' }
  | { k: 'env'; name: string }
  /** One value of a JSON map or list held in an environment variable. */
  | { k: 'envItem'; name: string }
  | { k: 'cat'; parts: Sym[] }
  | {
      k: 'obj';
      props: Record<string, Sym[]>;
      computed: { key: Sym; value: Sym[] }[];
      open: boolean;
      /** For an instance of a project class: the class. */
      cls?: ts.ClassLikeDeclaration;
    }
  | { k: 'arr'; items: Sym[][]; open: boolean }
  | { k: 'fn'; node: ts.FunctionLikeDeclaration; env: Env }
  | { k: 'unknown'; why: string };

type Env = ReadonlyMap<ts.Node, Sym[]>;

export interface SdkCall {
  /** The npm package the command class is imported from, e.g. `@aws-sdk/lib-dynamodb`. */
  module: string;
  /** The command class, e.g. `GetCommand`. */
  command: string;
  /** The evaluated argument (alternatives). */
  input: Sym[];
  /** `handlers/command/model.ts:60`, relative to the project root. */
  site: string;
  /** Function chain that reached the call, outermost first. */
  via: string[];
}

const MAX_ALTERNATIVES = 48;
const MAX_DEPTH = 40;
const MAX_EVAL_DEPTH = 24;

/** `handlers/shared/env.ts` readers: the argument names the variable. */
const ENV_READERS: Record<string, 'value' | 'map' | 'list'> = {
  requireEnv: 'value',
  optionalEnv: 'value',
  requirePositiveNumber: 'value',
  stringMapEnv: 'map',
  stringListEnv: 'list',
};
const ENV_MODULE = /(^|\/)handlers\/shared\/env\.ts$/;

const unknown = (why: string): Sym => ({ k: 'unknown', why });

function uniq(values: Sym[]): Sym[] {
  const seen = new Map<string, Sym>();
  for (const v of values) {
    const key = v.k === 'fn' ? `fn:${v.node.pos}:${v.node.getSourceFile().fileName}` : stableKey(v);
    if (!seen.has(key)) seen.set(key, v);
  }
  const out = [...seen.values()];
  return out.length > MAX_ALTERNATIVES
    ? [...out.slice(0, MAX_ALTERNATIVES - 1), unknown('too many alternatives')]
    : out;
}

/** A stable text form of a value (for de-duplication and memo keys). */
export function stableKey(v: Sym, depth = 0): string {
  if (depth > 6) return '…';
  switch (v.k) {
    case 'lit':
      return JSON.stringify(v.v);
    case 'undef':
      return 'undefined';
    case 'env':
      return `env(${v.name})`;
    case 'envItem':
      return `envItem(${v.name})`;
    case 'cat':
      return `cat(${v.parts.map((p) => stableKey(p, depth + 1)).join(',')})`;
    case 'obj':
      return `{${Object.keys(v.props)
        .sort()
        .map((k) => `${k}:${v.props[k].map((x) => stableKey(x, depth + 1)).join('|')}`)
        .join(',')}${v.computed.map((c) => `[${stableKey(c.key, depth + 1)}]`).join('')}${v.open ? ',…' : ''}}`;
    case 'arr':
      return `[${v.items.map((i) => i.map((x) => stableKey(x, depth + 1)).join('|')).join(',')}${v.open ? ',…' : ''}]`;
    case 'fn':
      return `fn@${path.basename(v.node.getSourceFile().fileName)}:${v.node.pos}`;
    case 'unknown':
      return '?';
  }
}

function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** Every string a cat can produce: its literal parts joined, unknown parts as `null`. */
function catParts(parts: Sym[][]): Sym[] {
  let acc: Sym[][] = [[]];
  for (const alternatives of parts) {
    const next: Sym[][] = [];
    for (const prefix of acc) for (const a of alternatives) next.push([...prefix, a]);
    acc = next.slice(0, MAX_ALTERNATIVES);
  }
  return acc.map((seq) => {
    const flat: Sym[] = [];
    for (const p of seq) {
      if (p.k === 'cat') flat.push(...p.parts);
      else flat.push(p);
    }
    // Merge adjacent literals.
    const merged: Sym[] = [];
    for (const p of flat) {
      const last = merged[merged.length - 1];
      if (p.k === 'lit' && last?.k === 'lit') merged[merged.length - 1] = { k: 'lit', v: `${last.v}${p.v}` };
      else merged.push(p);
    }
    return merged.length === 1 && merged[0].k === 'lit' ? merged[0] : { k: 'cat', parts: merged };
  });
}

export class CodeCallExtractor {
  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;
  private readonly visited = new Set<string>();
  private calls: SdkCall[] = [];
  private helpers = new Map<string, string>();
  private readonly helpersByEntry = new Map<string, { name: string; site: string }[]>();

  constructor(
    private readonly root: string,
    entries: string[],
  ) {
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      noLib: true,
      types: [],
      noEmit: true,
      allowJs: false,
    };
    const host = ts.createCompilerHost(options, true);
    // Only the project's own modules are followed: packages stay unresolved imports,
    // which is all that is needed to know where a command class comes from.
    host.resolveModuleNames = (names, containing) =>
      names.map((name) => {
        if (!name.startsWith('.')) return undefined;
        const base = path.resolve(path.dirname(containing), name);
        for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
          if (fs.existsSync(candidate)) return { resolvedFileName: candidate, extension: ts.Extension.Ts };
        }
        return undefined;
      });
    this.program = ts.createProgram(
      entries.map((e) => path.resolve(root, e)),
      options,
      host,
    );
    this.checker = this.program.getTypeChecker();
  }

  /** The SDK calls reachable from `export const handler` (or `export function handler`) of `entry`. */
  callsFrom(entry: string): SdkCall[] {
    const file = this.program.getSourceFile(path.resolve(this.root, entry));
    if (!file) throw new Error(`no source file ${entry}`);
    const handler = this.exportedFunction(file, 'handler');
    if (!handler) throw new Error(`${entry} exports no handler function`);
    this.visited.clear();
    this.calls = [];
    this.helpers = new Map();
    this.visitFunction(handler, new Map(), ['handler']);
    this.helpersByEntry.set(
      entry,
      [...this.helpers].map(([name, site]) => ({ name, site })),
    );
    const byKey = new Map<string, SdkCall>();
    for (const c of this.calls) {
      const key = `${c.site}|${c.command}|${c.input.map((v) => stableKey(v)).join('|')}`;
      if (!byKey.has(key)) byKey.set(key, c);
    }
    return [...byKey.values()];
  }

  /**
   * SDK exports other than clients and commands the handler's reached code uses
   * (paginators, lib-storage's Upload, waiters, aggregated clients): they send requests
   * themselves, which the call extraction would not see. Available after `callsFrom`.
   */
  sdkHelpersFrom(entry: string): { name: string; site: string }[] {
    if (!this.helpersByEntry.has(entry)) this.callsFrom(entry);
    return this.helpersByEntry.get(entry) ?? [];
  }

  private noteSdkHelper(node: ts.Node): void {
    const sdk = this.importedFrom(node);
    if (sdk && sdk.module.startsWith('@aws-sdk/') && !/(Command|Client)$/.test(sdk.name))
      this.helpers.set(`${sdk.module} ${sdk.name}`, this.rel(node));
  }

  private exportedFunction(file: ts.SourceFile, name: string): ts.FunctionLikeDeclaration | undefined {
    for (const st of file.statements) {
      // the implementation, not an overload signature (which has no body)
      if (ts.isFunctionDeclaration(st) && st.name?.text === name && st.body) return st;
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations) {
          if (ts.isIdentifier(d.name) && d.name.text === name && d.initializer && isFunctionLike(d.initializer))
            return d.initializer;
        }
      }
    }
    return undefined;
  }

  private isProjectNode(node: ts.Node): boolean {
    const file = node.getSourceFile();
    return !file.isDeclarationFile && !file.fileName.includes('node_modules');
  }

  private rel(node: ts.Node): string {
    const file = node.getSourceFile();
    const { line } = file.getLineAndCharacterOfPosition(node.getStart());
    return `${path.relative(this.root, file.fileName).split(path.sep).join('/')}:${line + 1}`;
  }

  private symbolOf(node: ts.Node): ts.Symbol | undefined {
    let sym = this.checker.getSymbolAtLocation(node);
    if (sym && sym.flags & ts.SymbolFlags.Alias) {
      try {
        const aliased = this.checker.getAliasedSymbol(sym);
        if (aliased && !(aliased.flags & ts.SymbolFlags.Alias) && aliased.declarations?.length) sym = aliased;
      } catch {
        // an unresolved package import: keep the alias (its declaration names the module)
      }
    }
    return sym;
  }

  private declarationOf(node: ts.Node): ts.Declaration | undefined {
    const sym = this.symbolOf(node);
    return sym?.valueDeclaration ?? sym?.declarations?.[0];
  }

  /**
   * The npm module an identifier is imported from, when it is an import of a package — also
   * through an object that holds the imports, destructured where they are used (the lazily
   * loaded S3 SDK, core/s3-sdk.ts).
   */
  private importedFrom(node: ts.Node): { module: string; name: string } | undefined {
    const sym = this.checker.getSymbolAtLocation(node);
    const decl = sym?.declarations?.[0];
    if (decl && ts.isImportSpecifier(decl)) {
      const spec = decl.parent.parent.parent.moduleSpecifier;
      if (ts.isStringLiteral(spec) && !spec.text.startsWith('.')) {
        return { module: spec.text, name: (decl.propertyName ?? decl.name).text };
      }
      return undefined;
    }
    if (decl && ts.isBindingElement(decl)) {
      // `const { GetObjectCommand } = loadS3Sdk()`: the property of the destructured object
      // is written `{ GetObjectCommand }` next to the package import it names.
      const key = decl.propertyName ?? decl.name;
      if (!ts.isIdentifier(key)) return undefined;
      const prop = this.checker.getTypeAtLocation(decl.parent).getProperty(key.text);
      const pdecl = prop?.valueDeclaration;
      if (pdecl && ts.isShorthandPropertyAssignment(pdecl)) {
        const vdecl = this.checker.getShorthandAssignmentValueSymbol(pdecl)?.declarations?.[0];
        if (vdecl && ts.isImportSpecifier(vdecl)) {
          const spec = vdecl.parent.parent.parent.moduleSpecifier;
          if (ts.isStringLiteral(spec) && !spec.text.startsWith('.')) {
            return { module: spec.text, name: (vdecl.propertyName ?? vdecl.name).text };
          }
        }
      }
      if (pdecl && ts.isPropertyAssignment(pdecl) && ts.isIdentifier(pdecl.initializer)) {
        return this.importedFrom(pdecl.initializer);
      }
    }
    return undefined;
  }

  /** The project function a callee expression denotes, if any. */
  private functionOf(expr: ts.Expression, env: Env, depth = 0): { node: ts.FunctionLikeDeclaration; env: Env }[] {
    const target = ts.isPropertyAccessExpression(expr) ? expr.name : expr;
    const decl = this.declarationOf(target);
    if (decl && this.isProjectNode(decl)) {
      // An instance method runs on the instance the receiver holds (bound to `this`).
      if (ts.isMethodDeclaration(decl) && ts.isClassLike(decl.parent) && !this.isStatic(decl)) {
        const receiver = ts.isPropertyAccessExpression(expr) ? this.evaluate(expr.expression, env, depth) : [];
        const self = receiver.filter((v) => v.k === 'obj' && v.cls === decl.parent);
        // Without a known instance the method is still reached, with `this` bound, through
        // the `new` of its class (instantiate): nothing to add here.
        return self.length > 0 ? [{ node: decl, env: new Map([[decl.parent, self]]) }] : [];
      }
      if (isFunctionLike(decl)) return [{ node: decl, env: this.capturedEnv(decl, env) }];
      if (
        (ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl)) &&
        decl.initializer &&
        isFunctionLike(decl.initializer)
      )
        return [{ node: decl.initializer, env: this.capturedEnv(decl, env) }];
    }
    // A parameter or variable holding a function value (a callback).
    return this.evaluate(expr, env, depth)
      .filter((v): v is Extract<Sym, { k: 'fn' }> => v.k === 'fn')
      .map((v) => ({ node: v.node, env: v.env }));
  }

  private isStatic(node: ts.Node): boolean {
    return !!ts.getModifiers(node as ts.HasModifiers)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
  }

  /**
   * What a function declared inside another function sees of its enclosing scope: the
   * bindings in force where it is used (it can only be used inside that scope). A
   * module-level function captures nothing.
   */
  private capturedEnv(decl: ts.Node, env: Env): Env {
    return ts.findAncestor(decl.parent, isFunctionLike) ? env : new Map();
  }

  // ------------------------------------------------------------------ reachability

  private visitFunction(fn: ts.FunctionLikeDeclaration, env: Env, via: string[]): void {
    if (!fn.body || via.length > MAX_DEPTH) return;
    const key = `${fn.getSourceFile().fileName}:${fn.pos}|${[...env.entries()]
      .map(([n, v]) => `${n.pos}=${v.map((x) => stableKey(x)).join('|')}`)
      .sort()
      .join(';')}`;
    if (this.visited.has(key)) return;
    this.visited.add(key);
    const name = this.functionName(fn);
    this.walk(fn.body, this.refineByGuards(fn, env), [...via, name]);
  }

  /**
   * `if (!key.startsWith(PREFIX)) throw …` at the top level of a function: past it, `key`
   * is known to start with PREFIX (how loadPayload confines itself to payloads/).
   */
  private refineByGuards(fn: ts.FunctionLikeDeclaration, env: Env): Env {
    if (!fn.body || !ts.isBlock(fn.body)) return env;
    let refined: Map<ts.Node, Sym[]> | undefined;
    for (const st of fn.body.statements) {
      if (!ts.isIfStatement(st) || st.elseStatement) continue;
      const then = ts.isBlock(st.thenStatement) ? st.thenStatement.statements[0] : st.thenStatement;
      if (!then || !ts.isThrowStatement(then)) continue;
      const cond = st.expression;
      if (!ts.isPrefixUnaryExpression(cond) || cond.operator !== ts.SyntaxKind.ExclamationToken) continue;
      const call = cond.operand;
      if (
        !ts.isCallExpression(call) ||
        !ts.isPropertyAccessExpression(call.expression) ||
        call.expression.name.text !== 'startsWith' ||
        !ts.isIdentifier(call.expression.expression) ||
        call.arguments.length !== 1
      )
        continue;
      const decl = this.declarationOf(call.expression.expression);
      const prefix = this.evaluate(call.arguments[0], env, 0);
      if (!decl || prefix.length !== 1 || prefix[0].k !== 'lit') continue;
      refined ??= new Map(env);
      refined.set(decl, [{ k: 'cat', parts: [prefix[0], unknown(`checked to start with ${String(prefix[0].v)}`)] }]);
    }
    return refined ?? env;
  }

  private functionName(fn: ts.FunctionLikeDeclaration): string {
    if (fn.name && ts.isIdentifier(fn.name)) return fn.name.text;
    if (ts.isConstructorDeclaration(fn))
      return `${(fn.parent as ts.ClassDeclaration).name?.text ?? 'class'}.constructor`;
    const parent = fn.parent;
    if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) && ts.isIdentifier(parent.name))
      return parent.name.text;
    return `<closure ${this.rel(fn)}>`;
  }

  private walk(node: ts.Node, env: Env, via: string[]): void {
    if (isFunctionLike(node)) {
      // A closure created here may be called later by anyone (a library, a callback
      // parameter): it is reached, with what it captures.
      this.visitFunction(node, env, via);
      return;
    }
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isTypeNode(node)) return;
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    if (ts.isIfStatement(node)) {
      this.walk(node.expression, env, via);
      if (!this.definitelyFalsy(node.expression, env)) this.walk(node.thenStatement, env, via);
      if (node.elseStatement) this.walk(node.elseStatement, env, via);
      return;
    }
    if (ts.isSwitchStatement(node)) {
      this.walk(node.expression, env, via);
      for (const clause of this.reachableClauses(node, env)) {
        if (ts.isCaseClause(clause)) this.walk(clause.expression, env, via);
        for (const st of clause.statements) this.walk(st, env, via);
      }
      return;
    }
    if (ts.isConditionalExpression(node)) {
      this.walk(node.condition, env, via);
      if (!this.definitelyFalsy(node.condition, env)) this.walk(node.whenTrue, env, via);
      this.walk(node.whenFalse, env, via);
      return;
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) {
      this.walk(node.left, env, via);
      if (!this.definitelyFalsy(node.left, env)) this.walk(node.right, env, via);
      return;
    }
    if (ts.isNewExpression(node)) {
      const sdk = this.importedFrom(node.expression);
      if (sdk && sdk.module.startsWith('@aws-sdk/') && sdk.name.endsWith('Command')) {
        const arg = node.arguments?.[0];
        this.calls.push({
          module: sdk.module,
          command: sdk.name,
          input: arg ? this.evaluate(arg, env, 0) : [unknown('no argument')],
          site: this.rel(node),
          via,
        });
      } else {
        this.noteSdkHelper(node.expression);
        const cls = this.classOf(node.expression);
        if (cls) this.instantiate(cls, node.arguments ?? [], env, via);
      }
      for (const a of node.arguments ?? []) this.walk(a, env, via);
      return;
    }
    if (ts.isCallExpression(node)) {
      for (const target of this.functionOf(node.expression, env)) {
        this.visitFunction(target.node, this.bind(target.node, node.arguments, env, target.env), via);
      }
      // The callee expression itself (not its name) may hold calls: `make().run()`.
      if (ts.isPropertyAccessExpression(node.expression)) this.walk(node.expression.expression, env, via);
      else if (!ts.isIdentifier(node.expression)) this.walk(node.expression, env, via);
      else this.noteSdkHelper(node.expression);
      for (const a of node.arguments) this.walk(a, env, via);
      return;
    }
    if (ts.isIdentifier(node)) this.noteSdkHelper(node);
    if (ts.isIdentifier(node) || ts.isPropertyAccessExpression(node)) {
      // A function referred to without being called (stored, passed, dispatched on).
      const target = ts.isPropertyAccessExpression(node) ? node.name : node;
      const decl = this.declarationOf(target);
      if (decl && this.isProjectNode(decl) && !this.isDeclarationName(node)) {
        const isMethod = ts.isMethodDeclaration(decl) && ts.isClassLike(decl.parent) && !this.isStatic(decl);
        if (isFunctionLike(decl) && !ts.isConstructorDeclaration(decl) && !isMethod)
          this.visitFunction(decl, this.capturedEnv(decl, env), via);
        else if (
          (ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl)) &&
          decl.initializer &&
          isFunctionLike(decl.initializer)
        )
          this.visitFunction(decl.initializer, this.capturedEnv(decl, env), via);
      }
      if (ts.isPropertyAccessExpression(node)) this.walk(node.expression, env, via);
      return;
    }
    ts.forEachChild(node, (child) => this.walk(child, env, via));
  }

  /**
   * The clauses a switch can run: with a discriminant the caller fixed (execution-watch
   * runs the command step dispatcher for `mark_failed` only), the matching case (or the
   * default) and what it falls through to; otherwise all of them.
   */
  private reachableClauses(node: ts.SwitchStatement, env: Env): ts.CaseOrDefaultClause[] {
    const clauses = [...node.caseBlock.clauses];
    const values = this.evaluate(node.expression, env, 0);
    if (values.length === 0 || !values.every((v) => v.k === 'lit')) return clauses;
    const wanted = new Set(values.map((v) => (v as { v: unknown }).v));
    const labels = clauses.map((c) => (ts.isCaseClause(c) ? this.evaluate(c.expression, env, 0) : undefined));
    if (labels.some((l) => l !== undefined && !(l.length === 1 && l[0].k === 'lit'))) return clauses;
    const matches = (l: Sym[] | undefined) => l !== undefined && wanted.has((l[0] as { v: unknown }).v);
    const anyCase = labels.some(matches);
    const out = new Set<ts.CaseOrDefaultClause>();
    clauses.forEach((c, i) => {
      if (!(matches(labels[i]) || (!anyCase && ts.isDefaultClause(c)) || (!anyCase && wanted.size > 1))) return;
      for (let j = i; j < clauses.length; j++) {
        out.add(clauses[j]);
        const last = clauses[j].statements[clauses[j].statements.length - 1];
        if (last && (ts.isReturnStatement(last) || ts.isThrowStatement(last) || ts.isBreakStatement(last))) break;
      }
    });
    return clauses.filter((c) => out.has(c));
  }

  private isDeclarationName(node: ts.Node): boolean {
    const p = node.parent;
    return (
      !!p &&
      ((ts.isVariableDeclaration(p) && p.name === node) ||
        (ts.isFunctionDeclaration(p) && p.name === node) ||
        (ts.isParameter(p) && p.name === node) ||
        (ts.isPropertyAssignment(p) && p.name === node) ||
        (ts.isMethodDeclaration(p) && p.name === node) ||
        (ts.isBindingElement(p) && p.name === node))
    );
  }

  private classOf(expr: ts.Expression): ts.ClassLikeDeclaration | undefined {
    const decl = this.declarationOf(expr);
    return decl && this.isProjectNode(decl) && ts.isClassLike(decl) ? decl : undefined;
  }

  /** The instance `new C(args)` makes: parameter properties, field initializers and `this.x =` of the constructor. */
  private instanceOf(
    cls: ts.ClassLikeDeclaration,
    args: readonly ts.Expression[],
    env: Env,
    depth: number,
  ): { self: Extract<Sym, { k: 'obj' }>; ctor?: ts.ConstructorDeclaration; ctorEnv: Map<ts.Node, Sym[]> } {
    const ctor = cls.members.find(ts.isConstructorDeclaration);
    const ctorEnv = ctor ? this.bind(ctor, args, env, new Map(), depth) : new Map<ts.Node, Sym[]>();
    const props: Record<string, Sym[]> = {};
    for (const p of ctor?.parameters ?? []) {
      if (ts.isIdentifier(p.name) && ts.getModifiers(p)?.length)
        props[p.name.text] = ctorEnv.get(p) ?? [unknown('arg')];
    }
    for (const m of cls.members) {
      if (ts.isPropertyDeclaration(m) && ts.isIdentifier(m.name) && m.initializer && !this.isStatic(m))
        props[m.name.text] = this.evaluate(m.initializer, ctorEnv, depth + 1);
    }
    if (ctor?.body) {
      const collect = (n: ts.Node): void => {
        if (
          ts.isBinaryExpression(n) &&
          n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
          ts.isPropertyAccessExpression(n.left) &&
          n.left.expression.kind === ts.SyntaxKind.ThisKeyword
        )
          props[n.left.name.text] = this.evaluate(n.right, ctorEnv, depth + 1);
        if (!isFunctionLike(n)) ts.forEachChild(n, collect);
      };
      collect(ctor.body);
    }
    return { self: { k: 'obj', props, computed: [], open: true, cls }, ctor, ctorEnv };
  }

  /** `new C(args)`: the constructor runs, and every method may be called (by us or by a library). */
  private instantiate(
    cls: ts.ClassLikeDeclaration,
    args: ts.NodeArray<ts.Expression> | readonly ts.Expression[],
    env: Env,
    via: string[],
  ): void {
    const { self, ctor, ctorEnv } = this.instanceOf(cls, args, env, 0);
    const withThis = (e: Env): Env => new Map([...e, [cls, [self]]]);
    if (ctor) this.visitFunction(ctor, withThis(ctorEnv), via);
    for (const m of cls.members) {
      if (isFunctionLike(m) && !ts.isConstructorDeclaration(m))
        this.visitFunction(m, this.isStatic(m) ? new Map() : withThis(new Map()), via);
    }
  }

  /** Parameter bindings for a call of `fn` with `args` evaluated in `env`. */
  private bind(
    fn: ts.FunctionLikeDeclaration,
    args: readonly ts.Expression[],
    env: Env,
    captured: Env,
    depth = 0,
  ): Map<ts.Node, Sym[]> {
    const out = new Map<ts.Node, Sym[]>(captured);
    fn.parameters.forEach((p, i) => {
      let value: Sym[];
      if (p.dotDotDotToken)
        value = [{ k: 'arr', items: args.slice(i).map((a) => this.evaluate(a, env, depth)), open: false }];
      else if (i < args.length) value = this.evaluate(args[i], env, depth);
      else value = p.initializer ? this.evaluate(p.initializer, out, depth) : [{ k: 'undef' }];
      if (p.initializer && i < args.length) {
        // A passed `undefined` takes the default.
        if (value.some((v) => v.k === 'undef'))
          value = uniq([...value.filter((v) => v.k !== 'undef'), ...this.evaluate(p.initializer, out, depth)]);
      }
      this.bindName(p.name, value, out, p);
    });
    return out;
  }

  private bindName(name: ts.BindingName, value: Sym[], out: Map<ts.Node, Sym[]>, decl: ts.Node): void {
    if (ts.isIdentifier(name)) {
      out.set(decl, value);
      return;
    }
    if (ts.isObjectBindingPattern(name)) {
      for (const el of name.elements) {
        const key = el.propertyName ?? el.name;
        const prop = ts.isIdentifier(key) || ts.isStringLiteral(key) ? key.text : undefined;
        let v = prop === undefined ? [unknown('computed binding')] : this.property(value, prop);
        if (el.initializer && v.some((x) => x.k === 'undef'))
          v = uniq([...v.filter((x) => x.k !== 'undef'), ...this.evaluate(el.initializer, out, 0)]);
        this.bindName(el.name, v, out, el);
      }
      return;
    }
    name.elements.forEach((el, i) => {
      if (ts.isOmittedExpression(el)) return;
      const v = value.flatMap((x) => (x.k === 'arr' && i < x.items.length ? x.items[i] : [unknown('array binding')]));
      this.bindName(el.name, uniq(v), out, el);
    });
  }

  // ------------------------------------------------------------------ evaluation

  private definitelyFalsy(expr: ts.Expression, env: Env): boolean {
    const values = this.evaluate(expr, env, 0);
    return values.length > 0 && values.every((v) => v.k === 'undef' || (v.k === 'lit' && !v.v));
  }

  private property(values: Sym[], prop: string): Sym[] {
    return uniq(
      values.flatMap((v): Sym[] => {
        if (v.k === 'obj') {
          if (prop in v.props) return v.props[prop];
          const computed = v.computed.filter((c) => c.key.k !== 'lit' || c.key.v === prop).flatMap((c) => c.value);
          if (computed.length > 0) return [...computed, ...(v.open ? [unknown(`.${prop}`)] : [])];
          return v.open ? [unknown(`.${prop} of a partly known object`)] : [{ k: 'undef' }];
        }
        if (v.k === 'envItem' || v.k === 'env') return [{ k: 'envItem', name: v.name }];
        if (v.k === 'arr' && prop === 'length') return [unknown('length')];
        if (v.k === 'undef') return [{ k: 'undef' }];
        return [unknown(`.${prop} of ${v.k === 'unknown' ? v.why : v.k}`)];
      }),
    );
  }

  private element(values: Sym[], index: Sym[]): Sym[] {
    return uniq(
      values.flatMap((v): Sym[] => {
        if (v.k === 'arr') {
          const idx = index.length === 1 && index[0].k === 'lit' ? Number(index[0].v) : NaN;
          if (Number.isInteger(idx) && idx < v.items.length && !v.open) return v.items[idx];
          return [...v.items.flat(), ...(v.open || Number.isInteger(idx) ? [unknown('element')] : [])];
        }
        if (v.k === 'obj') {
          if (index.length === 1 && index[0].k === 'lit') return this.property([v], String(index[0].v));
          return [
            ...Object.values(v.props).flat(),
            ...v.computed.flatMap((c) => c.value),
            ...(v.open ? [unknown('element')] : [{ k: 'undef' } as Sym]),
          ];
        }
        if (v.k === 'env' || v.k === 'envItem') return [{ k: 'envItem', name: v.name }];
        return [unknown('element')];
      }),
    );
  }

  evaluate(expr: ts.Expression, env: Env, depth: number): Sym[] {
    if (depth > MAX_EVAL_DEPTH) return [unknown('too deep')];
    const ev = (e: ts.Expression) => this.evaluate(e, env, depth + 1);
    if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return [{ k: 'lit', v: expr.text }];
    if (ts.isNumericLiteral(expr)) return [{ k: 'lit', v: Number(expr.text) }];
    if (expr.kind === ts.SyntaxKind.TrueKeyword) return [{ k: 'lit', v: true }];
    if (expr.kind === ts.SyntaxKind.FalseKeyword) return [{ k: 'lit', v: false }];
    if (expr.kind === ts.SyntaxKind.NullKeyword) return [{ k: 'lit', v: null }];
    if (ts.isIdentifier(expr) && expr.text === 'undefined') return [{ k: 'undef' }];
    if (
      ts.isParenthesizedExpression(expr) ||
      ts.isAsExpression(expr) ||
      ts.isNonNullExpression(expr) ||
      ts.isTypeAssertionExpression(expr) ||
      ts.isAwaitExpression(expr) ||
      ts.isSatisfiesExpression(expr)
    )
      return ev(expr.expression);
    if (ts.isTemplateExpression(expr)) {
      const parts: Sym[][] = [[{ k: 'lit', v: expr.head.text }]];
      for (const span of expr.templateSpans) {
        parts.push(ev(span.expression), [{ k: 'lit', v: span.literal.text }]);
      }
      return uniq(catParts(parts));
    }
    if (ts.isBinaryExpression(expr)) {
      const op = expr.operatorToken.kind;
      if (op === ts.SyntaxKind.PlusToken) return uniq(catParts([ev(expr.left), ev(expr.right)]));
      if (op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.BarBarToken) {
        const left = ev(expr.left);
        const falsy = (v: Sym) =>
          v.k === 'undef' || (v.k === 'lit' && (v.v === null || (op === ts.SyntaxKind.BarBarToken && !v.v)));
        const mayFallThrough = left.some((v) => falsy(v) || v.k === 'unknown' || v.k === 'env' || v.k === 'envItem');
        const kept = left.filter((v) => !falsy(v));
        return mayFallThrough ? uniq([...kept, ...ev(expr.right)]) : kept;
      }
      return [unknown(ts.tokenToString(op) ?? 'operator')];
    }
    if (ts.isConditionalExpression(expr)) return uniq([...ev(expr.whenTrue), ...ev(expr.whenFalse)]);
    if (ts.isObjectLiteralExpression(expr)) {
      const obj: Extract<Sym, { k: 'obj' }> = { k: 'obj', props: {}, computed: [], open: false };
      for (const p of expr.properties) {
        if (ts.isPropertyAssignment(p)) {
          const value = ev(p.initializer);
          if (ts.isComputedPropertyName(p.name)) {
            for (const key of ev(p.name.expression)) {
              if (key.k === 'lit') obj.props[String(key.v)] = value;
              else obj.computed.push({ key, value });
            }
          } else obj.props[p.name.getText().replace(/^['"]|['"]$/g, '')] = value;
        } else if (ts.isShorthandPropertyAssignment(p)) {
          obj.props[p.name.text] = this.evaluateSymbol(
            this.checker.getShorthandAssignmentValueSymbol(p),
            p.name,
            env,
            depth,
          );
        } else if (ts.isSpreadAssignment(p)) {
          for (const v of ev(p.expression)) {
            if (v.k === 'obj') {
              Object.assign(obj.props, v.props);
              obj.computed.push(...v.computed);
              obj.open ||= v.open;
            } else if (v.k !== 'undef') obj.open = true;
          }
        } else if (ts.isMethodDeclaration(p) && ts.isIdentifier(p.name)) {
          obj.props[p.name.text] = [{ k: 'fn', node: p, env }];
        } else obj.open = true;
      }
      return [obj];
    }
    if (ts.isArrayLiteralExpression(expr)) {
      const arr: Extract<Sym, { k: 'arr' }> = { k: 'arr', items: [], open: false };
      for (const e of expr.elements) {
        if (ts.isSpreadElement(e)) {
          for (const v of ev(e.expression)) {
            if (v.k === 'arr') arr.items.push(...v.items);
            arr.open = true;
          }
        } else arr.items.push(ev(e));
      }
      return [arr];
    }
    if (isFunctionLike(expr)) return [{ k: 'fn', node: expr, env }];
    if (ts.isNewExpression(expr)) {
      const cls = this.classOf(expr.expression);
      return cls ? [this.instanceOf(cls, expr.arguments ?? [], env, depth + 1).self] : [unknown('new')];
    }
    if (expr.kind === ts.SyntaxKind.ThisKeyword) {
      const cls = ts.findAncestor(expr, ts.isClassLike);
      return (cls && env.get(cls)) ?? [unknown('this')];
    }
    if (ts.isPropertyAccessExpression(expr)) {
      const text = expr.expression.getText();
      if (text === 'process.env') return [{ k: 'env', name: expr.name.text }];
      const base = ev(expr.expression);
      const known = this.property(base, expr.name.text);
      if (known.every((v) => v.k === 'unknown')) {
        // A property of a module-level object or class constant the checker can see.
        const decl = this.declarationOf(expr.name);
        if (decl && this.isProjectNode(decl)) {
          if (ts.isPropertyAssignment(decl)) return ev(decl.initializer);
          if (ts.isShorthandPropertyAssignment(decl)) return ev(decl.name);
          if (
            ts.isPropertyDeclaration(decl) &&
            decl.initializer &&
            ts.getModifiers(decl)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword)
          )
            return ev(decl.initializer);
          if (ts.isEnumMember(decl) && decl.initializer) return ev(decl.initializer);
        }
      }
      return known;
    }
    if (ts.isElementAccessExpression(expr)) {
      if (expr.expression.getText() === 'process.env' && ts.isStringLiteral(expr.argumentExpression))
        return [{ k: 'env', name: expr.argumentExpression.text }];
      return this.element(ev(expr.expression), ev(expr.argumentExpression));
    }
    if (ts.isIdentifier(expr)) return this.evaluateIdentifier(expr, env, depth);
    if (ts.isCallExpression(expr)) return this.evaluateCall(expr, env, depth);
    return [unknown(ts.SyntaxKind[expr.kind])];
  }

  private evaluateIdentifier(expr: ts.Identifier, env: Env, depth: number): Sym[] {
    return this.evaluateSymbol(this.symbolOf(expr), expr, env, depth);
  }

  private evaluateSymbol(symbol: ts.Symbol | undefined, expr: ts.Identifier, env: Env, depth: number): Sym[] {
    let sym = symbol;
    if (sym && sym.flags & ts.SymbolFlags.Alias) {
      try {
        const aliased = this.checker.getAliasedSymbol(sym);
        if (aliased.declarations?.length) sym = aliased;
      } catch {
        // unresolved package import
      }
    }
    const decl = sym?.valueDeclaration ?? sym?.declarations?.[0];
    if (!decl) return [unknown(`unresolved ${expr.text}`)];
    const bound = env.get(decl);
    if (bound) return bound;
    if (!this.isProjectNode(decl)) return [unknown(`external ${expr.text}`)];
    if (isFunctionLike(decl)) return [{ k: 'fn', node: decl, env: new Map() }];
    if (ts.isParameter(decl) || ts.isBindingElement(decl)) {
      if (ts.isBindingElement(decl)) {
        // `const { a } = expr`: evaluate through the pattern.
        const declaration = ts.findAncestor(decl, ts.isVariableDeclaration);
        if (declaration?.initializer) {
          const out = new Map<ts.Node, Sym[]>(env);
          this.bindName(declaration.name, this.evaluate(declaration.initializer, env, depth + 1), out, declaration);
          return out.get(decl) ?? [unknown(`binding ${expr.text}`)];
        }
      }
      return [unknown(`parameter ${expr.text}`)];
    }
    if (ts.isVariableDeclaration(decl)) {
      // A for-of/for-in variable (or a catch binding) has no initializer yet is never undefined.
      if (ts.isCatchClause(decl.parent)) return [unknown(`caught ${expr.text}`)];
      const loopVariable = ts.isForOfStatement(decl.parent.parent) || ts.isForInStatement(decl.parent.parent);
      if (loopVariable) {
        const loop = decl.parent.parent as ts.ForOfStatement | ts.ForInStatement;
        if (ts.isForOfStatement(loop) && ts.isIdentifier(decl.name))
          return this.element(this.evaluate(loop.expression, env, depth + 1), [unknown('index')]);
        return [unknown(`loop variable ${expr.text}`)];
      }
      const values: Sym[] = decl.initializer ? this.evaluate(decl.initializer, env, depth + 1) : [{ k: 'undef' }];
      // `let` may be reassigned: every assignment in its scope is an alternative.
      if (!(decl.parent.flags & ts.NodeFlags.Const)) {
        const scope = ts.findAncestor(decl, (n) => isFunctionLike(n) || ts.isSourceFile(n));
        const visit = (n: ts.Node): void => {
          if (
            ts.isBinaryExpression(n) &&
            n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
            ts.isIdentifier(n.left) &&
            this.symbolOf(n.left) === sym
          )
            values.push(...this.evaluate(n.right, env, depth + 1));
          ts.forEachChild(n, visit);
        };
        if (scope) visit(scope);
      }
      return uniq(values);
    }
    if (ts.isEnumMember(decl) && decl.initializer) return this.evaluate(decl.initializer, env, depth + 1);
    return [unknown(`${ts.SyntaxKind[decl.kind]} ${expr.text}`)];
  }

  private evaluateCall(expr: ts.CallExpression, env: Env, depth: number): Sym[] {
    const callee = ts.isPropertyAccessExpression(expr.expression) ? expr.expression.name : expr.expression;
    const decl = this.declarationOf(callee);
    if (decl && ENV_MODULE.test(decl.getSourceFile().fileName.split(path.sep).join('/'))) {
      const kind = ENV_READERS[(decl as ts.NamedDeclaration).name?.getText() ?? ''];
      const arg = expr.arguments[0];
      if (kind && arg && ts.isStringLiteral(arg)) {
        if (kind === 'value') return [{ k: 'env', name: arg.text }];
        const item: Sym = { k: 'envItem', name: arg.text };
        // Every element (or value) of the JSON held in the variable is an envItem.
        return kind === 'list'
          ? [{ k: 'arr', items: [[item]], open: false }]
          : [{ k: 'obj', props: {}, computed: [{ key: unknown('key'), value: [item] }], open: false }];
      }
    }
    const results: Sym[] = [];
    for (const target of this.functionOf(expr.expression, env, depth + 1)) {
      const bound = this.bind(target.node, expr.arguments, env, target.env, depth + 1);
      const body = target.node.body;
      if (!body) continue;
      if (!ts.isBlock(body)) {
        results.push(...this.evaluate(body, bound, depth + 1));
        continue;
      }
      const visit = (n: ts.Node): void => {
        if (isFunctionLike(n)) return;
        if (ts.isReturnStatement(n))
          results.push(...(n.expression ? this.evaluate(n.expression, bound, depth + 1) : [{ k: 'undef' } as Sym]));
        ts.forEachChild(n, visit);
      };
      visit(body);
    }
    return results.length > 0 ? uniq(results) : [unknown(`result of ${expr.expression.getText().slice(0, 60)}`)];
  }
}

/** Every literal/env/unknown shape a value can take as a string. */
export function describeSym(v: Sym): string {
  switch (v.k) {
    case 'lit':
      return JSON.stringify(v.v);
    case 'unknown':
      return `?(${v.why})`;
    case 'cat':
      return v.parts.map((p) => (p.k === 'lit' ? String(p.v) : `{${describeSym(p)}}`)).join('');
    default:
      return stableKey(v);
  }
}
