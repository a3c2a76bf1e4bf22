module github.com/pstoremigrate/pstoremigrate/golangci

go 1.26.0

require (
	github.com/golangci/plugin-module-register v0.1.2
	github.com/pstoremigrate/pstoremigrate/analyzer v0.0.0-00010101000000-000000000000
	golang.org/x/tools v0.52.0
)

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/pstoremigrate/pstoremigrate/analyzer => ../analyzer
