# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_shipit_global_optspecs
    string join \n config= y/yes output= color= q/quiet v/verbose h/help V/version
end

function __fish_shipit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_shipit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_shipit_using_subcommand
    set -l cmd (__fish_shipit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c shipit -n "__fish_shipit_needs_command" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_needs_command" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_needs_command" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_needs_command" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_needs_command" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_needs_command" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_needs_command" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "ship" -d 'Take HEAD to production: check, build, scan, push, approve and deploy, in that order'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "plan" -d 'Show what `shipit ship` would do, stage by stage, without changing anything'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "check" -d 'Check that HEAD may ship: git state, GitHub checks and approval, SonarQube'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "build" -d 'Build HEAD\'s image locally, tagged with the commit'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "scan" -d 'Scan HEAD\'s image with Trivy and apply the scan gate'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "push" -d 'Push HEAD\'s image (building it unless the registry has it) and record its digest'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "deploy" -d 'Deploy a pushed release (by digest) to an environment and wait for the rollout'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "status" -d 'Show what runs in an environment now: digest, commit, revision, rollout state'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "history" -d 'List the releases an environment has run, newest first'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "rollback" -d 'Put a previous release back, without a rebuild'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "promote" -d 'Deploy to <to> exactly the digest live in <from>, after checking its evidence'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "verify" -d 'Show the evidence chain of a release: commit → build → scan → approvals → deploys'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "init" -d 'Write a commented ship.toml from what this repository looks like'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "config" -d 'Validate ship.toml or print its JSON Schema'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "keys" -d 'Make the cosign key pair that `[sign] key` signs releases with'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "doctor" -d 'Check that everything shipit needs is installed, reachable and authorised'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c shipit -n "__fish_shipit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l reason -d 'Why the scan is skipped (required with --skip-scan), or why --force deploys a digest the evidence gate refuses. Recorded with the release either way' -r
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l wait-lock -d 'When another deploy holds the environment\'s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6' -r
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l dry-run -d 'Print the plan and stop; nothing is built, pushed or deployed'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l rebuild -d 'Build and push even if the registry already has an image for this commit'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l wait-checks -d 'Wait for pending GitHub checks instead of failing on them ([check.github] wait_timeout)'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l skip-scan -d 'Do not scan; the reason is recorded in the release record. For emergencies'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l force -d 'Deploy even if a rollout is in progress, or the environment already runs this digest'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l force-unlock -d 'Break the environment\'s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -l wait -d 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment\'s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand ship" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand plan" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand plan" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand plan" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand plan" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand plan" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand plan" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand plan" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand check" -l poll-interval -d 'How often to poll GitHub and SonarQube while waiting' -r
complete -c shipit -n "__fish_shipit_using_subcommand check" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand check" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand check" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand check" -l wait -d 'Wait for pending GitHub checks and for SonarQube\'s analysis of HEAD instead of failing, up to each table\'s wait_timeout'
complete -c shipit -n "__fish_shipit_using_subcommand check" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand check" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand check" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand check" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand build" -l registry -d 'Registry (a key of `[registries]`) to tag the image for; needed when ship.toml defines several' -r
complete -c shipit -n "__fish_shipit_using_subcommand build" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand build" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand build" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand build" -l allow-dirty -d 'Build even with uncommitted changes; the tags then end in `-dirty`'
complete -c shipit -n "__fish_shipit_using_subcommand build" -l no-cache -d 'Build every step again instead of reusing the engine\'s cache'
complete -c shipit -n "__fish_shipit_using_subcommand build" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand build" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand build" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand build" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand build" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand scan" -l registry -d 'Registry (a key of [registries]) whose repository names the default image' -r
complete -c shipit -n "__fish_shipit_using_subcommand scan" -l reason -d 'Why the scan is skipped (required with --skip-scan)' -r
complete -c shipit -n "__fish_shipit_using_subcommand scan" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand scan" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand scan" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand scan" -l skip-scan -d 'Do not scan; record that the scan was skipped, and why, in the release record. For emergencies'
complete -c shipit -n "__fish_shipit_using_subcommand scan" -l convert-trivyignore -d 'Do not scan: print the entries of .trivyignore as [[scan.exceptions]] (or [[exceptions]] for scan.exceptions_file) on stdout, to be completed with a reason each'
complete -c shipit -n "__fish_shipit_using_subcommand scan" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand scan" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand scan" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand scan" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand push" -l registry -d 'Registry (a key of `[registries]`) to tag the image for; needed when ship.toml defines several' -r
complete -c shipit -n "__fish_shipit_using_subcommand push" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand push" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand push" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand push" -l allow-dirty -d 'Build even with uncommitted changes; the tags then end in `-dirty`'
complete -c shipit -n "__fish_shipit_using_subcommand push" -l no-cache -d 'Build every step again instead of reusing the engine\'s cache'
complete -c shipit -n "__fish_shipit_using_subcommand push" -l rebuild -d 'Build and push even when the registry already has an image for this commit'
complete -c shipit -n "__fish_shipit_using_subcommand push" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand push" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand push" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand push" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l image -d 'Deploy this image instead of the current commit\'s release (must be pinned: REPO@sha256:…)' -r
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l digest -d 'Deploy this digest from the environment\'s registry' -r
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l reason -d 'Why --force deploys a digest the evidence gate refuses (recorded with the release)' -r
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l wait-lock -d 'When another deploy holds the environment\'s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6' -r
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l force -d 'Deploy even if another rollout is in progress, or the same digest already runs. With --reason, also a digest without a passing scan (recorded with the release and shown as a warning)'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l force-unlock -d 'Break the environment\'s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -l wait -d 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment\'s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand deploy" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand status" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand status" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand status" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand status" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand status" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand status" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand status" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand history" -l limit -d 'How many releases to show' -r
complete -c shipit -n "__fish_shipit_using_subcommand history" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand history" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand history" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand history" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand history" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand history" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand history" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l to -d 'Roll back to this revision number or digest (prefix)' -r
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l reason -d 'Why --force rolls back to a release the evidence gate refuses (recorded with the release)' -r
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l wait-lock -d 'When another deploy holds the environment\'s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6' -r
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l previous -d 'Roll back to the release before the one running now'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l force -d 'Roll back even if a rollout is in progress. With --reason, also to a release without a passing scan under today\'s policy (recorded and shown as a warning)'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l force-unlock -d 'Break the environment\'s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -l wait -d 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment\'s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand rollback" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l reason -d 'Why --force deploys a digest the evidence gate refuses (recorded with the release)' -r
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l wait-lock -d 'When another deploy holds the environment\'s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6' -r
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l force -d 'Deploy even if a rollout is in progress in <to>. With --reason, also without a passing scan'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l force-unlock -d 'Break the environment\'s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -l wait -d 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment\'s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand promote" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand verify" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand verify" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand verify" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand verify" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand verify" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand verify" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand verify" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand init" -l name -d 'Application name (default: the directory name)' -r
complete -c shipit -n "__fish_shipit_using_subcommand init" -l registry -d 'Registry type to push to' -r -f -a "ghcr\t''
ecr\t''
oci\t''"
complete -c shipit -n "__fish_shipit_using_subcommand init" -l repository -d 'Image repository (default: ghcr.io/OWNER/REPO from the `origin` remote)' -r
complete -c shipit -n "__fish_shipit_using_subcommand init" -l target -d 'Deploy target of the first environment' -r -f -a "ecs\t''
kubernetes\t''
docker\t''"
complete -c shipit -n "__fish_shipit_using_subcommand init" -l environment -d 'Name of the first environment' -r
complete -c shipit -n "__fish_shipit_using_subcommand init" -l dockerfile -d 'Dockerfile path, relative to the repository root (default: detected)' -r
complete -c shipit -n "__fish_shipit_using_subcommand init" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand init" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand init" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand init" -l force -d 'Overwrite an existing ship.toml'
complete -c shipit -n "__fish_shipit_using_subcommand init" -l stdout -d 'Print the file instead of writing it'
complete -c shipit -n "__fish_shipit_using_subcommand init" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand init" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand init" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand init" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -s h -l help -d 'Print help'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -f -a "validate" -d 'Check ship.toml; exit 0 when valid, 2 with the location of every problem otherwise'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -f -a "schema" -d 'Print the JSON Schema of ship.toml (for Taplo / Even Better TOML and other editors)'
complete -c shipit -n "__fish_shipit_using_subcommand config; and not __fish_seen_subcommand_from validate schema help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from validate" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from schema" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "validate" -d 'Check ship.toml; exit 0 when valid, 2 with the location of every problem otherwise'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "schema" -d 'Print the JSON Schema of ship.toml (for Taplo / Even Better TOML and other editors)'
complete -c shipit -n "__fish_shipit_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -s h -l help -d 'Print help'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -f -a "generate" -d 'Write cosign.key (encrypted with SHIPIT_SIGNING_PASSWORD or COSIGN_PASSWORD, mode 0600) and cosign.pub'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and not __fish_seen_subcommand_from generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -l dir -d 'Where to write the files (default: the current directory)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -l force -d 'Replace existing cosign.key / cosign.pub'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from generate" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Write cosign.key (encrypted with SHIPIT_SIGNING_PASSWORD or COSIGN_PASSWORD, mode 0600) and cosign.pub'
complete -c shipit -n "__fish_shipit_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand completions" -l config -d 'Path to ship.toml (default: search the current directory and its parents)' -r -F
complete -c shipit -n "__fish_shipit_using_subcommand completions" -l output -d 'Output format for data on stdout' -r -f -a "human\t''
json\t''"
complete -c shipit -n "__fish_shipit_using_subcommand completions" -l color -d 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c shipit -n "__fish_shipit_using_subcommand completions" -s y -l yes -d 'Answer yes to approvals and take defaults for questions (for CI)'
complete -c shipit -n "__fish_shipit_using_subcommand completions" -s q -l quiet -d 'Only print errors and requested data'
complete -c shipit -n "__fish_shipit_using_subcommand completions" -s v -l verbose -d 'Show more detail (full build output, API calls). Repeat for more'
complete -c shipit -n "__fish_shipit_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipit -n "__fish_shipit_using_subcommand completions" -s V -l version -d 'Print version'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "ship" -d 'Take HEAD to production: check, build, scan, push, approve and deploy, in that order'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "plan" -d 'Show what `shipit ship` would do, stage by stage, without changing anything'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "check" -d 'Check that HEAD may ship: git state, GitHub checks and approval, SonarQube'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "build" -d 'Build HEAD\'s image locally, tagged with the commit'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "scan" -d 'Scan HEAD\'s image with Trivy and apply the scan gate'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "push" -d 'Push HEAD\'s image (building it unless the registry has it) and record its digest'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "deploy" -d 'Deploy a pushed release (by digest) to an environment and wait for the rollout'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "status" -d 'Show what runs in an environment now: digest, commit, revision, rollout state'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "history" -d 'List the releases an environment has run, newest first'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "rollback" -d 'Put a previous release back, without a rebuild'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "promote" -d 'Deploy to <to> exactly the digest live in <from>, after checking its evidence'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "verify" -d 'Show the evidence chain of a release: commit → build → scan → approvals → deploys'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "init" -d 'Write a commented ship.toml from what this repository looks like'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "config" -d 'Validate ship.toml or print its JSON Schema'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "keys" -d 'Make the cosign key pair that `[sign] key` signs releases with'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "doctor" -d 'Check that everything shipit needs is installed, reachable and authorised'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c shipit -n "__fish_shipit_using_subcommand help; and not __fish_seen_subcommand_from ship plan check build scan push deploy status history rollback promote verify init config keys doctor completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shipit -n "__fish_shipit_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "validate" -d 'Check ship.toml; exit 0 when valid, 2 with the location of every problem otherwise'
complete -c shipit -n "__fish_shipit_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "schema" -d 'Print the JSON Schema of ship.toml (for Taplo / Even Better TOML and other editors)'
complete -c shipit -n "__fish_shipit_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "generate" -d 'Write cosign.key (encrypted with SHIPIT_SIGNING_PASSWORD or COSIGN_PASSWORD, mode 0600) and cosign.pub'
