/*
 * version.h - the one place berth's release version is written.
 *
 * Every binary reports it: berth-master (--version, /healthz, the start-up
 * log), berth-agent (--version, the Berth-Agent-Version header) and the CLI
 * (its User-Agent). Bump it here and nowhere else. The wire protocol has its
 * own number, PROTO_VERSION in common/proto.h, which changes only when the
 * frames do.
 */
#ifndef BERTH_VERSION_H
#define BERTH_VERSION_H

#define BERTH_VERSION	"0.1.0"

#endif
