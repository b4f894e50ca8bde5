// Loads infra/ the way `pulumi up` does — Pulumi's vendored ts-node, the project's TypeScript and
// tsconfig.json (node_modules/@pulumi/pulumi/cmd/run/run.js) — against Pulumi's mocks instead of the
// engine. Proves the program compiles and runs under Pulumi's own loader, which `tsc` and the mocha
// tests (esbuild via tsx) do not: TypeScript 6 with ts-node 7 needs `rootDir` set, for example.
// Prints the resources registered; exits non-zero on any failure.

const path = require("node:path");
const tsutils = require("@pulumi/pulumi/tsutils");
const pulumi = require("@pulumi/pulumi");

process.chdir(path.join(__dirname, ".."));
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const ts = require(typescriptRequire);
const [major, minor] = ts.version.split(".").map(Number);
const nodeNext = major > 4 || (major === 4 && minor >= 7);
const transpileOnly = process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "true";
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly,
  project: "tsconfig.json",
  skipProject: false,
  compilerOptions: {
    target: "ES2020",
    module: nodeNext ? "nodenext" : "commonjs",
    moduleResolution: nodeNext ? "nodenext" : "node",
    sourceMap: "true",
    ...tsutils.loadTypeScriptCompilerOptions("tsconfig.json"),
  },
});

const registered = [];
pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push(args.type);
      const name = args.inputs.name ?? args.name;
      return {
        id: `${args.name}-id`,
        state: {
          ...args.inputs,
          name,
          arn: `arn:aws:x:ap-northeast-2:123456789012:${name}`,
          url: `https://sqs.ap-northeast-2.amazonaws.com/123456789012/${name}`,
          repositoryUrl: `123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/${name}`,
          imageUri: `123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/${name}@sha256:${"0".repeat(64)}`,
        },
      };
    },
    call: (args) => ({
      ...args.inputs,
      region: "ap-northeast-2",
      targetKeyArn: "arn:aws:kms:ap-northeast-2:123456789012:key/k",
      ids: ["subnet-a"],
      id: "vpc-1",
      value: "ami-1",
    }),
  },
  "academy-messaging",
  "dev",
  false,
);
pulumi.runtime.setAllConfig(
  {
    "academy-messaging:solapiApiKey": "k",
    "academy-messaging:solapiApiSecret": "s",
    "academy-messaging:solapiSender": "0212345678",
  },
  ["academy-messaging:solapiApiKey", "academy-messaging:solapiApiSecret"],
);

const started = Date.now();
const program = require(path.resolve("infra"));
program.queueUrl.apply(() =>
  setTimeout(() => {
    console.log(
      `typescript ${ts.version} with ${path.relative(process.cwd(), tsnodeRequire) || tsnodeRequire}${transpileOnly ? " (transpile only)" : ""}`,
    );
    console.log(`loaded infra/ in ${Date.now() - started} ms: ${registered.length} resources registered`);
    console.log([...new Set(registered)].sort().join("\n"));
  }, 200),
);
