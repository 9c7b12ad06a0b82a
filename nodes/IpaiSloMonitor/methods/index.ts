/** The credential tests (SLO Monitor has no dropdowns). */
import { testLakehouseCredential } from '../../shared/lakehouse';
import { testMattermostCredential } from '../../shared/mattermost';

export const credentialTest = { lakehouseConnectionTest: testLakehouseCredential, mattermostApiTest: testMattermostCredential };
