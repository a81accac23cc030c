#!/usr/bin/env bash
# A deploy script in the style of those App Service projects ship, written
# for az: strict mode, --query ... -o tsv, the startup file set before the
# code that contains it, a storage account with public blob access, and a
# OneDeploy zip. It runs unchanged with slipway standing in for az.
set -euo pipefail
ZIP=$1
RG=rg-scripted
APP=scripted
PLAN=plan-scripted
ACCOUNT=scriptedmedia
LOCATION=westeurope

az group create --name "$RG" --location "$LOCATION" --output none
az appservice plan create --name "$PLAN" --resource-group "$RG" --sku B1 --is-linux --output none
az webapp create --resource-group "$RG" --plan "$PLAN" --name "$APP" --runtime "PYTHON:3.12" --output none
az webapp config set --resource-group "$RG" --name "$APP" \
  --startup-file "gunicorn --bind=0.0.0.0:8000 --timeout 600 app:app" --output none

az storage account create --name "$ACCOUNT" --resource-group "$RG" --location "$LOCATION" \
  --sku Standard_LRS --allow-blob-public-access true --output none
KEY=$(az storage account keys list --account-name "$ACCOUNT" --resource-group "$RG" --query '[0].value' -o tsv)
az storage container create --name media --account-name "$ACCOUNT" --account-key "$KEY" --public-access blob --output none

az webapp config appsettings set --resource-group "$RG" --name "$APP" --output none --settings \
  SCM_DO_BUILD_DURING_DEPLOYMENT=true AZURE_ACCOUNT_NAME="$ACCOUNT" AZURE_ACCOUNT_KEY="$KEY" AZURE_CONTAINER=media

az webapp deploy --resource-group "$RG" --name "$APP" --src-path "$ZIP" --type zip --output none

HOST=$(az webapp show --resource-group "$RG" --name "$APP" --query defaultHostName -o tsv)
echo "deployed to http://$HOST"
