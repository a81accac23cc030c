// Command msicheck reads a Key Vault secret with the real Go SDK —
// azidentity's ManagedIdentityCredential, configured only by
// IDENTITY_ENDPOINT and IDENTITY_HEADER as on App Service, and azsecrets —
// from inside an app instance (TestManagedIdentity ships it in the app).
//
// Usage: msicheck <vault URL> <secret name> [client id]
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: msicheck <vault URL> <secret name> [client id]")
	}
	opts := &azidentity.ManagedIdentityCredentialOptions{}
	if len(args) > 2 && args[2] != "" {
		opts.ID = azidentity.ClientID(args[2])
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return err
	}
	client, err := azsecrets.NewClient(args[0], cred, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := client.GetSecret(ctx, args[1], "", nil)
	if err != nil {
		return err
	}
	fmt.Print(*resp.Value)
	return nil
}
