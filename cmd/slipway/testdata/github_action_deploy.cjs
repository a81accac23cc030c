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
// Environment: PUBLISH_PROFILE (the XML file), PACKAGE (the zip), and the
// runner's GITHUB_SHA, GITHUB_ACTOR, GITHUB_REPOSITORY, RUNNER_TEMP;
// NODE_EXTRA_CA_CERTS trusts the platform's root. Prints one JSON line
// "RESULT {...}" with what the action would have learnt.
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

async function main() {
  const doc = await xml2js.parseStringPromise(fs.readFileSync(process.env.PUBLISH_PROFILE, 'utf8'));
  const first = doc.publishData.publishProfile[0].$;
  if (first.publishUrl.indexOf('scm') < 0) throw new Error('Publish profile does not contain kudu URL');
  const kudu = new Kudu('https://' + first.publishUrl, { username: first.userName, password: first.userPWD });
  const util = new KuduServiceUtility(kudu);

  const runtime = await kudu.getAppRuntime();
  const osName = runtime.system.os_name;
  const isLinux = osName.includes('Unix') || osName.includes('unix');

  // warmUp in the library's newer releases, warmpUp in 1.3.34.
  await (util.warmUp || util.warmpUp).call(util);
  const deploymentID = await util.deployUsingOneDeploy(process.env.PACKAGE,
    { slotName: 'production', commitMessage: 'Deployed by the test' }, undefined, 'zip', undefined, undefined);
  const activeDeploymentID = await util.updateDeploymentStatus(true, null, { type: 'Deployment', slotName: 'production' });
  if (deploymentID && activeDeploymentID) {
    await util.postZipDeployOperation(deploymentID, activeDeploymentID);
  }
  console.log('RESULT ' + JSON.stringify({ osName, isLinux, deploymentID, activeDeploymentID, appUrl: first.destinationAppUrl }));
}

main().catch((e) => { console.error('FAILED', e && (e.stack || JSON.stringify(e))); process.exit(1); });
