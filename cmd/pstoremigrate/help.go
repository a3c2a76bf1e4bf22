package main

import (
	"fmt"
	"strings"
)

// migrationSummary is "pstoremigrate help": the migration in ten lines.
const migrationSummary = `go-libp2p is shrinking its Peerstore to what dialing needs (issue #2355):
addresses, public keys and certified peer records. Everything else moves:
  protocols        -> the connection (identify events), per-connection store
  agent/proto ver. -> EvtPeerIdentificationCompleted; own data: per-peer store
  latency          -> the connection's RTT, not the peer
  private keys     -> the owner keeps its own key; nothing writes it to disk
Three steps:
  1. swap imports: pstoremem/pstoreds -> pstoremigrate/compat/pstoremem, pstoreds
  2. pstoremigrate lint ./... ; pstoremigrate fix -diff ./... ; pstoremigrate fix ./...
  3. pass peerstore.New(h) (compat/peerstore) to protocols that want a Peerstore
`

var helpCmd = &command{
	Name:      "help",
	UsageLine: "help [command]",
	Short:     "explain the migration, or a command",
	Long:      "Help explains the migration in short, or the named command.\n",
}

func init() {
	helpCmd.Run = runHelp
	register(helpCmd)
}

func runHelp(inv *invocation, args []string) int {
	switch len(args) {
	case 0:
		fmt.Fprint(inv.Stdout, migrationSummary)
		fmt.Fprintf(inv.Stdout, "The whole guide, section by section: MIGRATION.md, %s\n\n", sectionURL(""))
		printUsage(inv.Stdout)
		return exitOK
	case 1:
		cmd := lookup(args[0])
		if cmd == nil {
			fmt.Fprintf(inv.Stderr, "pstoremigrate help %s: unknown command\nRun 'pstoremigrate help' for usage.\n", args[0])
			return exitUsage
		}
		fmt.Fprintf(inv.Stdout, "usage: pstoremigrate %s\n\n%s", cmd.UsageLine, strings.TrimLeft(cmd.Long, "\n"))
		return exitOK
	default:
		fmt.Fprintf(inv.Stderr, "usage: pstoremigrate help [command]\n")
		return exitUsage
	}
}
