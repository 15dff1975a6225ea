
use builtin;
use str;

set edit:completion:arg-completer[shipit] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'shipit'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'shipit'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ship 'Take HEAD to production: check, build, scan, push, approve and deploy, in that order'
            cand plan 'Show what `shipit ship` would do, stage by stage, without changing anything'
            cand check 'Check that HEAD may ship: git state, GitHub checks and approval, SonarQube'
            cand build 'Build HEAD''s image locally, tagged with the commit'
            cand scan 'Scan HEAD''s image with Trivy and apply the scan gate'
            cand push 'Push HEAD''s image (building it unless the registry has it) and record its digest'
            cand deploy 'Deploy a pushed release (by digest) to an environment and wait for the rollout'
            cand status 'Show what runs in an environment now: digest, commit, revision, rollout state'
            cand history 'List the releases an environment has run, newest first'
            cand rollback 'Put a previous release back, without a rebuild'
            cand promote 'Deploy to <to> exactly the digest live in <from>, after checking its evidence'
            cand verify 'Show the evidence chain of a release: commit → build → scan → approvals → deploys'
            cand init 'Write a commented ship.toml from what this repository looks like'
            cand config 'Validate ship.toml or print its JSON Schema'
            cand keys 'Make the cosign key pair that `[sign] key` signs releases with'
            cand doctor 'Check that everything shipit needs is installed, reachable and authorised'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shipit;ship'= {
            cand --reason 'Why the scan is skipped (required with --skip-scan), or why --force deploys a digest the evidence gate refuses. Recorded with the release either way'
            cand --wait-lock 'When another deploy holds the environment''s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --dry-run 'Print the plan and stop; nothing is built, pushed or deployed'
            cand --rebuild 'Build and push even if the registry already has an image for this commit'
            cand --wait-checks 'Wait for pending GitHub checks instead of failing on them ([check.github] wait_timeout)'
            cand --skip-scan 'Do not scan; the reason is recorded in the release record. For emergencies'
            cand --force 'Deploy even if a rollout is in progress, or the environment already runs this digest'
            cand --force-unlock 'Break the environment''s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
            cand --wait 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment''s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;plan'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;check'= {
            cand --poll-interval 'How often to poll GitHub and SonarQube while waiting'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --wait 'Wait for pending GitHub checks and for SonarQube''s analysis of HEAD instead of failing, up to each table''s wait_timeout'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;build'= {
            cand --registry 'Registry (a key of `[registries]`) to tag the image for; needed when ship.toml defines several'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --allow-dirty 'Build even with uncommitted changes; the tags then end in `-dirty`'
            cand --no-cache 'Build every step again instead of reusing the engine''s cache'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;scan'= {
            cand --registry 'Registry (a key of [registries]) whose repository names the default image'
            cand --reason 'Why the scan is skipped (required with --skip-scan)'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --skip-scan 'Do not scan; record that the scan was skipped, and why, in the release record. For emergencies'
            cand --convert-trivyignore 'Do not scan: print the entries of .trivyignore as [[scan.exceptions]] (or [[exceptions]] for scan.exceptions_file) on stdout, to be completed with a reason each'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;push'= {
            cand --registry 'Registry (a key of `[registries]`) to tag the image for; needed when ship.toml defines several'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --allow-dirty 'Build even with uncommitted changes; the tags then end in `-dirty`'
            cand --no-cache 'Build every step again instead of reusing the engine''s cache'
            cand --rebuild 'Build and push even when the registry already has an image for this commit'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;deploy'= {
            cand --image 'Deploy this image instead of the current commit''s release (must be pinned: REPO@sha256:…)'
            cand --digest 'Deploy this digest from the environment''s registry'
            cand --reason 'Why --force deploys a digest the evidence gate refuses (recorded with the release)'
            cand --wait-lock 'When another deploy holds the environment''s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --force 'Deploy even if another rollout is in progress, or the same digest already runs. With --reason, also a digest without a passing scan (recorded with the release and shown as a warning)'
            cand --force-unlock 'Break the environment''s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
            cand --wait 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment''s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;status'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;history'= {
            cand --limit 'How many releases to show'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;rollback'= {
            cand --to 'Roll back to this revision number or digest (prefix)'
            cand --reason 'Why --force rolls back to a release the evidence gate refuses (recorded with the release)'
            cand --wait-lock 'When another deploy holds the environment''s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --previous 'Roll back to the release before the one running now'
            cand --force 'Roll back even if a rollout is in progress. With --reason, also to a release without a passing scan under today''s policy (recorded and shown as a warning)'
            cand --force-unlock 'Break the environment''s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
            cand --wait 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment''s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;promote'= {
            cand --reason 'Why --force deploys a digest the evidence gate refuses (recorded with the release)'
            cand --wait-lock 'When another deploy holds the environment''s lock, wait up to this long for it (e.g. `10m`) instead of failing with exit code 6'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --force 'Deploy even if a rollout is in progress in <to>. With --reason, also without a passing scan'
            cand --force-unlock 'Break the environment''s lock even though its holder looks alive (it says whose it was). Only for a holder you know is gone: two deploys at once can interleave their changes'
            cand --wait 'gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment''s `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;verify'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;init'= {
            cand --name 'Application name (default: the directory name)'
            cand --registry 'Registry type to push to'
            cand --repository 'Image repository (default: ghcr.io/OWNER/REPO from the `origin` remote)'
            cand --target 'Deploy target of the first environment'
            cand --environment 'Name of the first environment'
            cand --dockerfile 'Dockerfile path, relative to the repository root (default: detected)'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --force 'Overwrite an existing ship.toml'
            cand --stdout 'Print the file instead of writing it'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;config'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand validate 'Check ship.toml; exit 0 when valid, 2 with the location of every problem otherwise'
            cand schema 'Print the JSON Schema of ship.toml (for Taplo / Even Better TOML and other editors)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shipit;config;validate'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;config;schema'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;config;help'= {
            cand validate 'Check ship.toml; exit 0 when valid, 2 with the location of every problem otherwise'
            cand schema 'Print the JSON Schema of ship.toml (for Taplo / Even Better TOML and other editors)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shipit;config;help;validate'= {
        }
        &'shipit;config;help;schema'= {
        }
        &'shipit;config;help;help'= {
        }
        &'shipit;keys'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand generate 'Write cosign.key (encrypted with SHIPIT_SIGNING_PASSWORD or COSIGN_PASSWORD, mode 0600) and cosign.pub'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shipit;keys;generate'= {
            cand --dir 'Where to write the files (default: the current directory)'
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand --force 'Replace existing cosign.key / cosign.pub'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;keys;help'= {
            cand generate 'Write cosign.key (encrypted with SHIPIT_SIGNING_PASSWORD or COSIGN_PASSWORD, mode 0600) and cosign.pub'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shipit;keys;help;generate'= {
        }
        &'shipit;keys;help;help'= {
        }
        &'shipit;doctor'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;completions'= {
            cand --config 'Path to ship.toml (default: search the current directory and its parents)'
            cand --output 'Output format for data on stdout'
            cand --color 'When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`)'
            cand -y 'Answer yes to approvals and take defaults for questions (for CI)'
            cand --yes 'Answer yes to approvals and take defaults for questions (for CI)'
            cand -q 'Only print errors and requested data'
            cand --quiet 'Only print errors and requested data'
            cand -v 'Show more detail (full build output, API calls). Repeat for more'
            cand --verbose 'Show more detail (full build output, API calls). Repeat for more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'shipit;help'= {
            cand ship 'Take HEAD to production: check, build, scan, push, approve and deploy, in that order'
            cand plan 'Show what `shipit ship` would do, stage by stage, without changing anything'
            cand check 'Check that HEAD may ship: git state, GitHub checks and approval, SonarQube'
            cand build 'Build HEAD''s image locally, tagged with the commit'
            cand scan 'Scan HEAD''s image with Trivy and apply the scan gate'
            cand push 'Push HEAD''s image (building it unless the registry has it) and record its digest'
            cand deploy 'Deploy a pushed release (by digest) to an environment and wait for the rollout'
            cand status 'Show what runs in an environment now: digest, commit, revision, rollout state'
            cand history 'List the releases an environment has run, newest first'
            cand rollback 'Put a previous release back, without a rebuild'
            cand promote 'Deploy to <to> exactly the digest live in <from>, after checking its evidence'
            cand verify 'Show the evidence chain of a release: commit → build → scan → approvals → deploys'
            cand init 'Write a commented ship.toml from what this repository looks like'
            cand config 'Validate ship.toml or print its JSON Schema'
            cand keys 'Make the cosign key pair that `[sign] key` signs releases with'
            cand doctor 'Check that everything shipit needs is installed, reachable and authorised'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'shipit;help;ship'= {
        }
        &'shipit;help;plan'= {
        }
        &'shipit;help;check'= {
        }
        &'shipit;help;build'= {
        }
        &'shipit;help;scan'= {
        }
        &'shipit;help;push'= {
        }
        &'shipit;help;deploy'= {
        }
        &'shipit;help;status'= {
        }
        &'shipit;help;history'= {
        }
        &'shipit;help;rollback'= {
        }
        &'shipit;help;promote'= {
        }
        &'shipit;help;verify'= {
        }
        &'shipit;help;init'= {
        }
        &'shipit;help;config'= {
            cand validate 'Check ship.toml; exit 0 when valid, 2 with the location of every problem otherwise'
            cand schema 'Print the JSON Schema of ship.toml (for Taplo / Even Better TOML and other editors)'
        }
        &'shipit;help;config;validate'= {
        }
        &'shipit;help;config;schema'= {
        }
        &'shipit;help;keys'= {
            cand generate 'Write cosign.key (encrypted with SHIPIT_SIGNING_PASSWORD or COSIGN_PASSWORD, mode 0600) and cosign.pub'
        }
        &'shipit;help;keys;generate'= {
        }
        &'shipit;help;doctor'= {
        }
        &'shipit;help;completions'= {
        }
        &'shipit;help;help'= {
        }
    ]
    $completions[$command]
}
