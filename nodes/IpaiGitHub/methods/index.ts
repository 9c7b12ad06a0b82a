/** The GitHub and lakehouse credential tests and the repository dropdown (the GitHub Trigger shows the same). */
import { testLakehouseCredential } from '../../shared/lakehouse';
import { repositoryOptions, testGitHubCredential } from '../transport';

export const credentialTest = { gitHubConnectionTest: testGitHubCredential, lakehouseConnectionTest: testLakehouseCredential };

export const loadOptions = { getRepositories: repositoryOptions };
