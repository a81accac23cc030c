package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// artifactFile records, inside an artifact, what the runtime needs to run it
// (the interpreter and environment the build chose).
const artifactFile = ".slipway-artifact.json"

func WriteArtifact(a Artifact) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(a.Dir, artifactFile), b, 0o644)
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

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
