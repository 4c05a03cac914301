# bash completion for muse
_muse() {
    local cur prev cmd
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=""
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --kb|--locale) ((i++)) ;;
            -*) ;;
            *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    case $prev in
        --kb|-o|--chart|--file|--data|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "instant thinking contemplating auto" -- "$cur")); return ;;
        --locale) COMPREPLY=($(compgen -W "US UK EU" -- "$cur")); return ;;
        --backend) COMPREPLY=($(compgen -W "grounded openai" -- "$cur")); return ;;
        --preset) COMPREPLY=($(compgen -W "bp_trend bp_category lab_panel bmi_gauge weight_trend glucose_profile risk_gauge" -- "$cur")); return ;;
    esac
    case $cmd in
        "") COMPREPLY=($(compgen -W "ask chat interpret calc chart report safety kb serve eval help --version -v --kb --locale --reviewed-only --backend --allow-phi" -- "$cur")) ;;
        ask) COMPREPLY=($(compgen -W "--mode --json --markdown --trace --chart --help" -- "$cur")) ;;
        chat) COMPREPLY=($(compgen -W "--mode --help" -- "$cur")) ;;
        kb) COMPREPLY=($(compgen -W "build stats search show import export review verify --json --help" -- "$cur")) ;;
        safety) COMPREPLY=($(compgen -W "check redact --json --help" -- "$cur")) ;;
        calc) COMPREPLY=($(compgen -W "bmi egfr eag ascvd bmr --json --help" -- "$cur")) ;;
        chart) COMPREPLY=($(compgen -f -W "-o --preset --data --help" -- "$cur")) ;;
        report) COMPREPLY=($(compgen -f -W "-o --from --to --title --patient-label --password --json --html --help" -- "$cur")) ;;
        eval) COMPREPLY=($(compgen -f -W "safety --modes --json --help" -- "$cur")) ;;
        serve) COMPREPLY=($(compgen -W "--listen --config --threads --no-access-log --help" -- "$cur")) ;;
        help) COMPREPLY=($(compgen -W "ask chat interpret calc chart report safety kb serve eval" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
}
complete -F _muse muse
