package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/term"

	"github.com/pstoremigrate/pstoremigrate/cmd/pstoremigrate/internal/datacmd"
)

var dataCmd = &command{
	Name:      "data",
	UsageLine: "data <inspect|import|scrub> [arguments]",
	Short:     "inspect, import and scrub peerstore data on disk",
	Long: `Data works on the peerstore data a node keeps on disk: the go-ds-leveldb or
go-ds-pebble datastore that go-libp2p's deprecated pstoreds wrote (with every
peer's private key in clear text), the same datastore once compat/pstoreds
opened it, and newstore snapshot files.

	pstoremigrate data inspect [-json] PATH
	pstoremigrate data import [-format snapshot|leveldb|pebble] [-skip-corrupt]
		[-progress] [-json] -from DATASTORE -to PATH
	pstoremigrate data scrub [-dry-run] [-json] DATASTORE

A DATASTORE is a leveldb or pebble directory, told apart by its files. The
node using it must be stopped first: both backends lock it, and a datastore
held open elsewhere is refused.

Inspect describes PATH, a snapshot file or a datastore, without writing to
it: peers, addresses (live and expired), public keys, signed peer records;
for the legacy pstoreds layout also protocols, other metadata, and how many
private keys it holds in clear text, and how many private keys deleted from
the key space are still readable in its files (tables read entry by entry,
journals and WALs raw). -json prints the same as one JSON object. Entries
that do not decode are listed, and make the exit status 1.

Import converts the legacy pstoreds datastore DATASTORE into a new snapshot
file (-format snapshot, what newstore's file sink loads) or a new datastore
in the compat/pstoreds layout (-format leveldb or pebble, what
compat/pstoreds.NewPeerstore opens). Without -format, an existing empty
directory gets a datastore of the source's backend and any other PATH a
snapshot file. PATH must not exist yet (or be an empty directory). It reads
the source read-only and in batches, so memory stays bounded, and carries
over the live addresses, public keys and signed records; it prints what it
imported, what it skipped and why, and what it left behind: expired
addresses, protocols and metadata (identify reports them again), and the
private keys, which stay in the source until it is scrubbed. An address
record or key that does not decode stops the import unless -skip-corrupt is
given (metadata is left behind, so it is counted, not decoded). A progress
bar is drawn on standard error when it is a terminal, or with -progress.
-json prints the summary as one JSON object.

Scrub deletes the private keys that pstoreds stored in clear text in
DATASTORE (the /peers/keys/<peer>/priv entries) and nothing else, prints
each one it removed, and compacts the datastore so that the keys leave its
files too, those deleted earlier included; it then reads the files again
and fails if a key is still readable in them. Upstream pstoreds and
compat/pstoreds still open the datastore afterwards. -dry-run prints what
would be removed and changes nothing.

Flags may also be written with two dashes (--from, --dry-run) and after the
path. On any error nothing is written: a failed import removes what it had
begun to write.

Exit status: 0 on success, 1 on an error (or, for inspect, entries that do
not decode), 2 on bad usage.
`,
}

func init() {
	dataCmd.Run = runData
	register(dataCmd)
}

// A dataSubcommand is one of "data inspect|import|scrub".
type dataSubcommand struct {
	name string
	run  func(ctx context.Context, inv *invocation, args []string) int
}

// The usage lines of the data subcommands.
const (
	inspectUsage = "data inspect [-json] PATH"
	importUsage  = "data import [-format snapshot|leveldb|pebble] [-skip-corrupt] [-progress] [-json] -from DATASTORE -to PATH"
	scrubUsage   = "data scrub [-dry-run] [-json] DATASTORE"
)

var dataSubcommands = []dataSubcommand{
	{"inspect", runInspect},
	{"import", runImport},
	{"scrub", runScrub},
}

func runData(inv *invocation, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(inv.Stderr, "usage: pstoremigrate %s\nRun 'pstoremigrate help data' for details.\n", dataCmd.UsageLine)
		return exitUsage
	}
	for _, sc := range dataSubcommands {
		if sc.name == args[0] {
			// An interrupt cancels the work, which then removes what
			// it had begun to write.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			return sc.run(ctx, inv, args[1:])
		}
	}
	fmt.Fprintf(inv.Stderr, "pstoremigrate data %s: unknown command\nRun 'pstoremigrate help data' for usage.\n", args[0])
	return exitUsage
}

func dataFlagSet(inv *invocation, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("data "+name, flag.ContinueOnError)
	fs.SetOutput(inv.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(inv.Stderr, "usage: pstoremigrate %s\nRun 'pstoremigrate help data' for details.\n", usage)
	}
	return fs
}

// parseArgs parses flags written before or after the positional arguments
// ("scrub DIR --dry-run" as well as "scrub --dry-run DIR").
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// Parse stops at the first argument that is not a flag.
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func dataError(inv *invocation, name string, err error) int {
	fmt.Fprintf(inv.Stderr, "pstoremigrate data %s: %v\n", name, err)
	return exitError
}

// onePath parses args that must name exactly one PATH; false means bad
// usage, already reported.
func onePath(fs *flag.FlagSet, args []string) (string, bool) {
	paths, err := parseArgs(fs, args)
	if err != nil {
		return "", false
	}
	if len(paths) != 1 {
		fs.Usage()
		return "", false
	}
	return paths[0], true
}

// printResult writes v to inv.Stdout, as one JSON object with -json and
// as text otherwise; a failed write is the subcommand's error.
func printResult(inv *invocation, name string, asJSON bool, v any, text func(io.Writer) error) int {
	var err error
	if asJSON {
		err = writeJSON(inv.Stdout, v)
	} else {
		err = text(inv.Stdout)
	}
	if err != nil {
		return dataError(inv, name, err)
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "\t")
	return enc.Encode(v)
}

func runInspect(ctx context.Context, inv *invocation, args []string) int {
	fs := dataFlagSet(inv, "inspect", inspectUsage)
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	path, ok := onePath(fs, args)
	if !ok {
		return exitUsage
	}
	r, err := datacmd.Inspect(ctx, path)
	if err != nil {
		return dataError(inv, "inspect", err)
	}
	if code := printResult(inv, "inspect", *asJSON, r, r.WriteTable); code != exitOK {
		return code
	}
	if err := r.Err(); err != nil {
		return dataError(inv, "inspect", err)
	}
	return exitOK
}

func runImport(ctx context.Context, inv *invocation, args []string) int {
	fs := dataFlagSet(inv, "import", importUsage)
	from := fs.String("from", "", "the legacy pstoreds `datastore` directory to read")
	to := fs.String("to", "", "the snapshot file or datastore directory to create")
	format := fs.String("format", "", "what to write: snapshot, leveldb or pebble (default: by the destination)")
	skipCorrupt := fs.Bool("skip-corrupt", false, "leave out entries that do not decode instead of stopping")
	progress := fs.Bool("progress", false, "draw a progress bar on standard error even when it is not a terminal")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(rest) != 0 || *from == "" || *to == "" {
		fs.Usage()
		return exitUsage
	}
	f, err := datacmd.ParseFormat(*format)
	if err != nil {
		fmt.Fprintf(inv.Stderr, "pstoremigrate data import: -format: %v\n", err)
		return exitUsage
	}
	opts := []datacmd.ImportOption{datacmd.WithFormat(f), datacmd.WithSkipCorrupt(*skipCorrupt)}
	if *progress || isTerminal(inv.Stderr) {
		opts = append(opts, datacmd.WithProgress(datacmd.NewProgressBar(inv.Stderr)))
	}
	sum, err := datacmd.Import(ctx, *from, *to, opts...)
	if isFileNotDatastore(*from, err) {
		return dataError(inv, "import", fmt.Errorf("-from %s is a file: import reads a legacy pstoreds datastore, a leveldb or pebble directory, and writes a snapshot or a compat/pstoreds datastore with -to (a snapshot needs no import: newstore restores it)", *from))
	}
	if err != nil {
		return dataError(inv, "import", err)
	}
	return printResult(inv, "import", *asJSON, sum, sum.WriteText)
}

func runScrub(ctx context.Context, inv *invocation, args []string) int {
	fs := dataFlagSet(inv, "scrub", scrubUsage)
	dryRun := fs.Bool("dry-run", false, "print what would be removed and change nothing")
	asJSON := fs.Bool("json", false, "print what was removed as one JSON object")
	path, ok := onePath(fs, args)
	if !ok {
		return exitUsage
	}
	res, err := datacmd.Scrub(ctx, path, datacmd.WithDryRun(*dryRun))
	if isFileNotDatastore(path, err) {
		return dataError(inv, "scrub", fmt.Errorf("%s is a file: scrub removes private keys from a peerstore datastore, a leveldb or pebble directory (a snapshot never holds private keys: nothing to scrub)", path))
	}
	if err != nil {
		if errors.Is(err, datacmd.ErrInUse) {
			fmt.Fprintf(inv.Stderr, "pstoremigrate data scrub: %s is open in another process (a running node?): stop it, then scrub again.\n", path)
		}
		return dataError(inv, "scrub", err)
	}
	return printResult(inv, "scrub", *asJSON, res, res.WriteText)
}

// isFileNotDatastore reports whether err says that path is not a datastore
// because it is a file, most likely a snapshot; the datastore layer's "not
// a snapshot file nor ..." would then be wrong about a valid snapshot.
func isFileNotDatastore(path string, err error) bool {
	if !errors.Is(err, datacmd.ErrNotDatastore) {
		return false
	}
	fi, serr := os.Stat(path)
	return serr == nil && fi.Mode().IsRegular()
}

// isTerminal reports whether w is a terminal, where a progress bar can be
// redrawn in place; a pipe or a log file would collect every frame.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
