package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slipway-dev/slipway/internal/atomicfile"
)

// artifactFile records, inside an artifact, what the runtime needs to run it
// (the interpreter and environment the build chose).
const artifactFile = ".slipway-artifact.json"

func WriteArtifact(a Artifact) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(a.Dir, artifactFile), b, 0o644)
}

func ReadArtifact(dir string) (Artifact, error) {
	b, err := os.ReadFile(filepath.Join(dir, artifactFile))
	if err != nil {
		return Artifact{}, fmt.Errorf("reading artifact record: %w", err)
	}
	var a Artifact
	if err := json.Unmarshal(b, &a); err != nil {
		return Artifact{}, fmt.Errorf("reading artifact record: %w", err)
	}
	a.Dir = dir
	return a, nil
}
