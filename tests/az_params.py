"""Print the options az accepts for each command named on the command line.

Usage: az_params.py "webapp create" "storage account keys list" ...

Output (stdout, JSON): {"webapp create": ["--ids", "--name", "-h", ...], ...}
with each list sorted; a command az does not have maps to null.

It runs az's own start-up steps (AzCliCommandInvoker.execute, up to the
point where the argparse parser is built) for each command, then reads the
option strings off that command's parser, so the lists hold exactly what
`az <command>` parses: the command's arguments from the argument registry
(every spelling of options_list), the global arguments az adds after the
command table is built (--ids, --subscription) and the parser's own
(-h/--help, -o/--output, --query, --debug, --verbose, --only-show-errors).
Hidden arguments az still accepts (deprecated spellings) are included: a
deploy script may use them; az's internal placeholders (knack's ignore_type,
e.g. --__LANGUAGE) are not.

az's packaged command index maps a top-level word to its modules, so only
the modules of the requested commands are imported (webapp's and storage's
take a few seconds together). The configuration goes to a throw-away
folder unless AZURE_CONFIG_DIR is set, and telemetry is off.
"""

import json
import os
import sys
import tempfile


def main(argv):
    commands = argv[1:]
    with tempfile.TemporaryDirectory(prefix="az_params.") as tmp:
        os.environ.setdefault("AZURE_CONFIG_DIR", tmp)
        os.environ["AZURE_CORE_COLLECT_TELEMETRY"] = "no"
        os.environ["AZURE_CORE_NO_COLOR"] = "true"
        from azure.cli.core import get_default_cli

        cli = get_default_cli()
        out = {}
        for name in commands:
            out[name] = options(cli, name)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def options(cli, name):
    """The sorted option strings of `az <name>`, or None if az has no such command."""
    from knack.events import EVENT_INVOKER_PRE_CMD_TBL_CREATE, EVENT_INVOKER_POST_CMD_TBL_CREATE
    from azure.cli.core.commands.events import (
        EVENT_INVOKER_PRE_CMD_TBL_TRUNCATE, EVENT_INVOKER_PRE_LOAD_ARGUMENTS, EVENT_INVOKER_POST_LOAD_ARGUMENTS)

    args = name.split()
    # A fresh invocation per command, as each `az` process has one.
    inv = cli.invocation_cls(cli_ctx=cli, parser_cls=cli.parser_cls,
                             commands_loader_cls=cli.commands_loader_cls, help_cls=cli.help_cls)
    cli.invocation = inv
    loader = inv.commands_loader
    # The steps of AzCliCommandInvoker.execute that build the parser.
    cli.raise_event(EVENT_INVOKER_PRE_CMD_TBL_CREATE, args=args)
    loader.load_command_table(args)
    cli.raise_event(EVENT_INVOKER_PRE_CMD_TBL_TRUNCATE, load_cmd_tbl_func=loader.load_command_table, args=args)
    if name not in loader.command_table:
        return None
    inv.data["command_string"] = name
    loader.command_table = {name: loader.command_table[name]}
    loader.command_name = name
    cli.raise_event(EVENT_INVOKER_PRE_LOAD_ARGUMENTS, commands_loader=loader)
    loader.load_arguments(name)
    cli.raise_event(EVENT_INVOKER_POST_LOAD_ARGUMENTS, commands_loader=loader)
    cli.raise_event(EVENT_INVOKER_POST_CMD_TBL_CREATE, commands_loader=loader)
    inv.parser.cli_ctx = cli
    inv.parser.load_command_table(loader)

    group = inv.parser.subparsers[tuple(args[:-1])]
    parser = group.choices[args[-1]]
    arguments = loader.command_table[name].arguments
    opts = set()
    for action in parser._actions:  # argparse keeps no public list
        arg = arguments.get(action.dest)
        if arg is not None and is_ignored(arg):
            continue
        opts.update(action.option_strings)
    return sorted(opts)


def is_ignored(arg):
    """Whether az registered arg with knack's ignore_type: a hidden placeholder
    (--__LANGUAGE, the handler's cmd) that `az ... -h` does not show and no
    script passes, as opposed to a deprecated spelling az still accepts."""
    from knack.arguments import ignore_type

    settings = arg.type.settings
    return all(k in settings and settings[k] == v for k, v in ignore_type.settings.items())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
