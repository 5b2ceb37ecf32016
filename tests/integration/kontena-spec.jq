# kontena-spec.jq - berth's normalized stack (the parser's output, as
# GET /v1/stacks/{g}/{s} shows it in .spec) written in the shape Kontena's
# master stored a stack's services in (GridService, after the CLI's
# ServiceGeneratorV2 and the master's GridServices::Create). It renames
# and reshapes only; every value comes from berth. How each rule follows
# Kontena's code: tests/integration/kontena-expected/README.md.

# parse_image: an image without a tag is ":latest"
def image_name: if test(":") then . else . + ":latest" end;
# build_grid_service_links: a link within the stack is "stack/service"
def link_name($stack): if test("/") then . else $stack + "/" + . end;
# Array#uniq, keeping the first of each
def uniq_keep: reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end);

.name as $stack
| {
  stack, name, version, expose, variables,
  volumes: [.volumes[] | {name, external: .external.name}],
  services: [.services[] | {
    name,
    image_name: (.image | image_name),
    container_count: .instances,
    stateful, strategy,
    cmd: .command,
    entrypoint: (if .entrypoint == null then null
                 elif (.entrypoint | length) == 1 then .entrypoint[0]
                 else .entrypoint end),
    env,
    secrets: [.secrets[] | {secret, name}],
    # ServiceGeneratorV2: links, then depends_on as links, uniq
    links: ([(.links[] | split(":") | {name: (.[0] | link_name($stack)),
                                       alias: (.[1] // .[0])}),
             (.depends_on[] | {name: link_name($stack), alias: .})]
            | uniq_keep),
    ports: [.ports[] | {ip, protocol, node_port, container_port}],
    volumes, affinity,
    memory: .mem_limit, memory_swap: .memswap_limit, shm_size,
    cpus, cpu_shares, user, privileged, cap_add, cap_drop,
    net: (.network_mode // "bridge"), pid,
    log_driver: .logging.driver, log_opts: (.logging.options // {}),
    deploy_opts: {wait_for_port: .deploy.wait_for_port,
                  min_health: .deploy.min_health,
                  interval: .deploy.interval},
    # build_grid_service_hooks: instances split on ","
    hooks: [(.hooks // {}) | to_entries[] | .key as $t | .value[]
            | {type: $t, name, cmd,
               instances: (.instances | tostring | split(",")), oneshot}]
           | sort_by(.type),
    # GridServiceHealthCheck: uri defaults to "/"; none without a protocol
    health_check: (if .health_check == null then null
                   else .health_check | {protocol, port, uri: (.uri // "/"),
                                         timeout, interval, initial_delay}
                   end),
    stop_signal, stop_grace_period, read_only
  }]
}
