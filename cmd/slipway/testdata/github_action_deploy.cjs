// Deploys a zip as the GitHub Action for App Service (Azure/webapps-deploy)
// does with a publish profile, through the library the action is built on,
// azure-actions-appservice-rest from npm (its Kudu client and
// KuduServiceUtility, unmodified). The action's own glue (not published to
// npm) is followed step by step: PublishProfile.ts reads the first
// profile's publishUrl, userName, userPWD and destinationAppUrl and
// prefixes https://; ValidatorFactory asks Kudu's /diagnostics/runtime
// whether the app runs on Linux; WebAppDeploymentProvider warms Kudu up and
// deploys with OneDeploy; BaseWebAppDeploymentProvider then records the run
// in Kudu's deployment history and copies the deployment's manifest.
//
// With APP_NAME instead of PUBLISH_PROFILE it deploys as the action does
// after azure/login (a service principal): the az CLI on PATH, signed in,
// gives the subscription, the cloud's endpoints and the tokens
// (azure-actions-webclient's AzureCLIAuthorizer); ARM finds the app
// (AzureResourceFilterUtility: its resource group and kind), Kudu is
// reached at the app's Repository host name with an ARM token
// (AzureAppServiceUtility.getKuduService), the app's URL comes from its
// publish profile, and STARTUP_COMMAND, if set, becomes the app's
// appCommandLine through ARM, as the action's startup-command input does.
//
// Environment: PUBLISH_PROFILE (the XML file) or APP_NAME, PACKAGE (the
// zip), STARTUP_COMMAND, and the runner's GITHUB_SHA, GITHUB_ACTOR,
// GITHUB_REPOSITORY, RUNNER_TEMP; NODE_EXTRA_CA_CERTS trusts the platform's
// root. Prints one JSON line "RESULT {...}" with what the action learnt.
'use strict';

// The runner resolves the app's host names through DNS; here every
// *.localhost name is the server on loopback.
const dns = require('dns');
const lookup = dns.lookup;
dns.lookup = function (host, options, cb) {
  if (typeof options === 'function') { cb = options; options = {}; }
  if (typeof options === 'number') options = { family: options };
  if (/\.localhost$/i.test(host)) {
    return options && options.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
  }
  return lookup.call(dns, host, options, cb);
};

const fs = require('fs');
const xml2js = require('xml2js');
const { Kudu } = require('azure-actions-appservice-rest/Kudu/azure-app-kudu-service');
const { KuduServiceUtility } = require('azure-actions-appservice-rest/Utilities/KuduServiceUtility');

// deploy is WebAppDeploymentProvider.DeployWebAppStep and
// BaseWebAppDeploymentProvider.UpdateDeploymentStatus for a zip.
async function deploy(util, res) {
  // warmUp in the library's newer releases, warmpUp in 1.3.34.
  await (util.warmUp || util.warmpUp).call(util);
  res.deploymentID = await util.deployUsingOneDeploy(process.env.PACKAGE,
    { slotName: 'production', commitMessage: 'Deployed by the test' }, undefined, 'zip', undefined, undefined);
}

async function record(util, res) {
  res.activeDeploymentID = await util.updateDeploymentStatus(true, null, { type: 'Deployment', slotName: 'production' });
  if (res.deploymentID && res.activeDeploymentID) {
    await util.postZipDeployOperation(res.deploymentID, res.activeDeploymentID);
  }
}

async function withPublishProfile() {
  const doc = await xml2js.parseStringPromise(fs.readFileSync(process.env.PUBLISH_PROFILE, 'utf8'));
  const first = doc.publishData.publishProfile[0].$;
  if (first.publishUrl.indexOf('scm') < 0) throw new Error('Publish profile does not contain kudu URL');
  const kudu = new Kudu('https://' + first.publishUrl, { username: first.userName, password: first.userPWD });
  const util = new KuduServiceUtility(kudu);
  const res = { appUrl: first.destinationAppUrl };
  res.osName = (await kudu.getAppRuntime()).system.os_name;
  res.isLinux = res.osName.includes('Unix') || res.osName.includes('unix');
  await deploy(util, res);
  await record(util, res);
  return res;
}

async function withServicePrincipal() {
  const { AuthorizerFactory } = require('azure-actions-webclient/AuthorizerFactory');
  const { AzureResourceFilterUtility } = require('azure-actions-appservice-rest/Utilities/AzureResourceFilterUtility');
  const { AzureAppService } = require('azure-actions-appservice-rest/Arm/azure-app-service');
  const { AzureAppServiceUtility } = require('azure-actions-appservice-rest/Utilities/AzureAppServiceUtility');
  const { addAnnotation } = require('azure-actions-appservice-rest/Utilities/AnnotationUtility');
  const endpoint = await AuthorizerFactory.getAuthorizer();
  const app = process.env.APP_NAME;
  const details = await AzureResourceFilterUtility.getAppDetails(endpoint, app, undefined, 'production');
  const res = { resourceGroup: details.resourceGroupName, kind: details.kind };
  res.isLinux = details.kind.indexOf('linux') > -1 || details.kind.indexOf('kubeapp') > -1;
  const appService = new AzureAppService(endpoint, details.resourceGroupName, app, 'production');
  const appServiceUtility = new AzureAppServiceUtility(appService);
  const kudu = await appServiceUtility.getKuduService();
  res.kuduWithToken = typeof kudu._client._accessToken === 'string' && kudu._client._accessTokenType === 'Bearer';
  res.appUrl = await appServiceUtility.getApplicationURL();
  const util = new KuduServiceUtility(kudu);
  await deploy(util, res);
  const startup = process.env.STARTUP_COMMAND;
  if (startup) {
    const config = await appService.getConfiguration();
    if (config.properties.appCommandLine !== startup) {
      await appServiceUtility.updateConfigurationSettings({ appCommandLine: startup });
    }
  }
  await addAnnotation(endpoint, appService, true);
  await record(util, res);
  return res;
}

async function main() {
  const res = process.env.APP_NAME ? await withServicePrincipal() : await withPublishProfile();
  console.log('RESULT ' + JSON.stringify(res));
}

main().catch((e) => { console.error('FAILED', e && (e.stack || JSON.stringify(e))); process.exit(1); });
