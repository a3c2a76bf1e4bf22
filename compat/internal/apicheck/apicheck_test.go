package apicheck_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/apicheck"
)

// checkPair type-checks the sources of an upstream package and of ours.
// They import nothing: an importer of the standard library would run the go
// command, which a -modfile in GOFLAGS (set for the newest go-libp2p run)
// breaks outside the module.
func checkPair(t *testing.T, upSrc, ourSrc string) (up, ours *types.Package) {
	t.Helper()
	fset := token.NewFileSet()
	var conf types.Config
	check := func(path, src string) *types.Package {
		f, err := parser.ParseFile(fset, path+".go", src, 0)
		require.NoError(t, err)
		pkg, err := conf.Check(path, fset, []*ast.File{f}, nil)
		require.NoError(t, err)
		return pkg
	}
	return check("example.com/upstream/store", upSrc), check("example.com/ours/store", ourSrc)
}

// upstreamSrc has one of each thing the comparison looks at.
const upstreamSrc = `package store


type clock interface{ Now() int64 }

type Options struct {
	Max   int
	Clock clock
}

type Option func(*book) error

type book struct{ Exported int }

func (b *book) Get(k string) (int, error) { return 0, nil }
func (b *book) Close() error              { return nil }

func WithClock(c clock) Option { return nil }
func New(opts ...Option) (*book, error) { return nil, nil }
func Open(o Options, name string) *book { return nil }
func Tag(names ...string) Option         { return nil }

type Manager struct{}

func (m *Manager) Broadcast(n int) {}
`

// A drop-in that code written against upstreamSrc compiles against: wider
// parameter types, an interface for a smaller clock, extra names.
const dropInSrc = `package store


type Clock interface{ Now() int64 }

type Options struct {
	Max   int
	Clock Clock
	Extra bool
}

type Option func(*config) error

type config struct{}

type Book struct{ Exported int }

func (b *Book) Get(k string) (int, error) { return 0, nil }
func (b *Book) Close() error              { return nil }
func (b *Book) Save() error               { return nil }

func WithClock(c Clock) Option { return nil }
func New(opts ...Option) (*Book, error) { return nil, nil }
func Open(o Options, name any) *Book { return nil }
func Tag(names ...string) Option     { return nil }

type Manager = manager
type manager struct{}

func (m *manager) Broadcast(n int) {}

func Unrelated() {}
`

func TestCompareAcceptsADropIn(t *testing.T) {
	up, ours := checkPair(t, upstreamSrc, dropInSrc)
	require.Empty(t, apicheck.Compare(up, ours))
}

func TestCompareReportsWhatWouldNotCompile(t *testing.T) {
	const broken = `package store


type Options struct {
	Max int
}

type Option struct{}

type Book struct{}

func (b *Book) Get(k int) (int, error) { return 0, nil }

func WithClock(c interface{ Now() int64; Stop() }) Option { return Option{} }
func New(opts ...Option) (*Book, error) { return nil, nil }
func Open(o Options, name string) (*Book, error) { return nil, nil }
func Tag(names []string) Option { return Option{} }
`
	up, ours := checkPair(t, upstreamSrc, broken)
	require.Equal(t, []string{
		"Manager: missing",
		"New: result 1: field Exported: missing",
		"New: result 1: method Close: missing",
		"New: result 1: method Get: argument 1: upstream's accepts string, ours only int",
		"Open: upstream's is func(o example.com/upstream/store.Options, name string) *example.com/upstream/store.book, ours func(o example.com/ours/store.Options, name string) (*example.com/ours/store.Book, error)",
		"Option: upstream's is a func type, ours a struct type",
		"Options: field Clock: missing",
		"Tag: upstream's is func(names ...string) example.com/upstream/store.Option, ours func(names []string) example.com/ours/store.Option",
		"WithClock: argument 1: upstream's accepts example.com/upstream/store.clock, ours only interface{Now() int64; Stop()}",
	}, apicheck.Compare(up, ours))
}
